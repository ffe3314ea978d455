import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { routeList } from '@rewards/contracts';
import { AppError, TOKEN_VERIFIER, type TokenVerifier } from '@rewards/infrastructure';
import type { FastifyReply } from 'fastify';
import { buildOpenApiDocument } from './openapi.document.js';
import { UpstreamRegistry } from './upstream.registry.js';

export const UPSTREAMS = Symbol('UPSTREAMS');

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>Event & Reward Platform API</title>
  <link rel="icon" href="data:," />
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/docs-json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: true });`;

/** The gateway's own routes: health, readiness of what it routes to, keys and docs (metrics are on METRICS_PORT). */
@Controller()
export class OpsController {
  private readonly openApi = buildOpenApiDocument(routeList, '1.0.0');

  constructor(
    @Inject(UPSTREAMS) private readonly upstreams: UpstreamRegistry,
    @Inject(TOKEN_VERIFIER) private readonly verifier: TokenVerifier,
  ) {}

  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz() {
    const [auth, event] = await Promise.all([this.upstreams.ready('auth'), this.upstreams.ready('event')]);
    const tokens = this.verifier.ready !== false;
    if (!auth || !event || !tokens) throw new AppError('UNAVAILABLE', 'Not ready', { auth, event, tokens });
    return { status: 'ok', auth, event, tokens };
  }

  @Get('.well-known/jwks.json')
  async jwks(@Res() reply: FastifyReply) {
    for (const instance of this.upstreams.candidates('auth')) {
      try {
        const res = await instance.pool.request({
          path: '/.well-known/jwks.json',
          method: 'GET',
          headersTimeout: 3000,
          bodyTimeout: 3000,
        });
        const body = await res.body.json();
        if (res.statusCode === 200) return reply.header('cache-control', 'public, max-age=300').send(body);
      } catch {
        // next instance
      }
    }
    throw new AppError('UNAVAILABLE', 'The auth service is unavailable; retry shortly');
  }

  @Get('docs-json')
  docsJson(): Record<string, unknown> {
    return this.openApi;
  }

  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  docs() {
    return DOCS_HTML;
  }

  @Get('docs/init.js')
  @Header('content-type', 'application/javascript; charset=utf-8')
  docsInit() {
    return DOCS_INIT;
  }
}
