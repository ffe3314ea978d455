import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { AppError, toErrorResponse, type Logger } from '@rewards/infrastructure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const CONSOLE_PATH = '/console/';
export const NOT_BUILT_MESSAGE =
  'The console has not been built: run `pnpm --filter @rewards/console build` (pnpm start builds it)';

/**
 * The console's Content-Security-Policy: everything from this origin only, no inline script, and
 * inline <style> elements only with this answer's nonce (the component kit writes its CSS variables
 * into such elements and puts the nonce on them).
 */
export function consoleCsp(nonce?: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    nonce ? `style-src 'self' 'nonce-${nonce}'` : "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** A file of the build (`assets/index-3f2a.js`), as opposed to a screen's path, which index.html answers. */
const isAsset = (rel: string) => /\.[A-Za-z0-9]+$/.test(rel.split('/').pop() ?? '');

/**
 * Serves the built console (apps/console/dist) at /console/: files as they are (precompressed when
 * the browser takes gzip, hashed assets cached for a year), every other path index.html, so a
 * screen's URL can be reloaded or shared. `/` redirects here.
 */
export async function registerConsole(fastify: FastifyInstance, opts: { root: string; logger: Logger }): Promise<void> {
  await fastify.register(fastifyStatic, {
    root: opts.root,
    serve: false,
    decorateReply: true,
    preCompressed: true,
    index: false,
    dotfiles: 'deny',
  });

  const notBuilt = (req: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = toErrorResponse(new AppError('NOT_FOUND', NOT_BUILT_MESSAGE), String(req.id));
    return reply.status(status).send(body);
  };

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    let html: string;
    try {
      html = await readFile(join(opts.root, 'index.html'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') opts.logger.error({ err }, 'cannot read the console');
      return notBuilt(req, reply);
    }
    const nonce = randomBytes(16).toString('base64');
    return reply
      .headers({ ...SECURITY_HEADERS, 'content-security-policy': consoleCsp(nonce), 'cache-control': 'no-store' })
      .type('text/html; charset=utf-8')
      .send(html.replaceAll('__CSP_NONCE__', nonce));
  };

  fastify.get('/', (_req, reply) => reply.redirect(CONSOLE_PATH, 302));
  fastify.get('/console', (_req, reply) => reply.redirect(CONSOLE_PATH, 302));
  fastify.get('/console/*', (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
    if (!rel || !isAsset(rel) || rel === 'index.html') return page(req, reply);
    reply.headers({
      ...SECURITY_HEADERS,
      'content-security-policy': consoleCsp(),
      // Names carry a content hash: a new build is a new name.
      'cache-control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    return reply.sendFile(rel, { cacheControl: false });
  });
}

/** Where the build is: next to the gateway in the repository (apps/console/dist), unless configured. */
export const defaultConsoleRoot = () => new URL('../../console/dist/', import.meta.url).pathname;
