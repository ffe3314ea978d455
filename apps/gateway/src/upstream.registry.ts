import type { ServiceName } from '@rewards/contracts';
import type { Logger } from '@rewards/infrastructure';
import { Pool } from 'undici';

interface Instance {
  url: string;
  service: ServiceName;
  pool: Pool;
  healthy: boolean;
  /** Whether it has answered a probe since the gateway started: until then, being down is waiting, not a fault. */
  seen: boolean;
}

/**
 * The instances behind each service, balanced round-robin over the healthy ones. An instance
 * is taken out on a refused connection or a failed health probe and put back when a probe passes.
 */
export class UpstreamRegistry {
  private readonly services: Record<ServiceName, Instance[]>;
  private readonly cursor: Record<ServiceName, number> = { auth: 0, event: 0 };
  private timer?: NodeJS.Timeout;

  constructor(
    urls: Record<ServiceName, string[]>,
    private readonly logger: Logger,
    private readonly probeMs = 1000,
  ) {
    const make =
      (service: ServiceName) =>
      (url: string): Instance => ({
        url,
        service,
        pool: new Pool(url, { connections: 256, keepAliveTimeout: 30_000, connectTimeout: 2000 }),
        healthy: true,
        seen: false,
      });
    this.services = { auth: urls.auth.map(make('auth')), event: urls.event.map(make('event')) };
  }

  start(): void {
    const all = Object.values(this.services).flat();
    this.logger.info({ upstreams: all.map((i) => i.url) }, 'waiting for auth and event to answer');
    void this.probeAll();
    this.timer = setInterval(() => void this.probeAll(), this.probeMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(
      Object.values(this.services)
        .flat()
        .map((i) => i.pool.close()),
    );
  }

  /** Instances to try, healthy ones first, starting from the next in turn. */
  candidates(service: ServiceName): Instance[] {
    const all = this.services[service];
    const start = this.cursor[service]++ % all.length;
    const ordered = [...all.slice(start), ...all.slice(0, start)];
    return [...ordered.filter((i) => i.healthy), ...ordered.filter((i) => !i.healthy)];
  }

  markDown(instance: Instance, reason: string): void {
    // Before its first answer an instance is still starting: no warning for that.
    if (instance.healthy && instance.seen) this.logger.warn({ upstream: instance.url, reason }, 'upstream marked down');
    instance.healthy = false;
  }

  async probe(service: ServiceName): Promise<boolean> {
    const results = await Promise.all(this.services[service].map((i) => this.probeOne(i)));
    return results.some(Boolean);
  }

  private async probeAll(): Promise<void> {
    await Promise.all(
      Object.values(this.services)
        .flat()
        .map((i) => this.probeOne(i)),
    );
  }

  private async probeOne(instance: Instance): Promise<boolean> {
    try {
      const res = await instance.pool.request({
        path: '/healthz',
        method: 'GET',
        headersTimeout: 1000,
        bodyTimeout: 1000,
      });
      await res.body.dump();
      const ok = res.statusCode === 200;
      if (ok && !instance.seen)
        this.logger.info({ upstream: instance.url, service: instance.service }, 'upstream answering');
      else if (ok && !instance.healthy) this.logger.info({ upstream: instance.url }, 'upstream back up');
      if (!ok) this.markDown(instance, `health ${res.statusCode}`);
      else {
        instance.healthy = true;
        instance.seen = true;
      }
      return ok;
    } catch (err) {
      this.markDown(instance, (err as Error).message);
      return false;
    }
  }
}
export type { Instance };
