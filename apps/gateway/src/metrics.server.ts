import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Logger, Metrics } from '@rewards/infrastructure';

/**
 * The gateway's Prometheus metrics on their own listener (METRICS_HOST:METRICS_PORT, loopback by
 * default), so the public port never serves them. GET /metrics only; anything else is 404 in the
 * error shape.
 */
export class MetricsServer {
  private readonly server: Server;

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if ((req.method === 'GET' || req.method === 'HEAD') && path === '/metrics') {
        this.metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
            res.end(req.method === 'HEAD' ? undefined : text);
          },
          (err: unknown) => {
            this.logger.error({ err }, 'metrics failed');
            this.error(res, 500, 'INTERNAL', 'Internal error');
          },
        );
        return;
      }
      this.error(res, 404, 'NOT_FOUND', `No route ${req.method} ${path}; metrics are at GET /metrics`);
    });
    this.server.keepAliveTimeout = 5000;
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    const requestId = randomUUID();
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId });
    res.end(JSON.stringify({ error: { code, message }, requestId }));
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.logger.info({ port, host }, 'metrics listening');
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
