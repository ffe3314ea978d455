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
  candidates(service: ServiceName): readonly Instance[] {
    const all = this.services[service];
    if (all.length === 1) return all;
    const start = this.cursor[service]++ % all.length;
    const ordered = [...all.slice(start), ...all.slice(0, start)];
    return [...ordered.filter((i) => i.healthy), ...ordered.filter((i) => !i.healthy)];
  }

  markDown(instance: Instance, reason: string): void {
    // Before its first answer an instance is still starting: no warning for that.
    if (instance.healthy && instance.seen) this.logger.warn({ upstream: instance.url, reason }, 'upstream marked down');
    instance.healthy = false;
  }

  /**
   * Whether at least one instance of the service is ready to serve: its own /readyz (its database
   * answers, it has auth's token keys and session state), not only alive. A live instance that
   * is still loading auth's keys answers every authenticated call 503, so it does not make the
   * gateway ready. Routing stays on liveness: a ready instance that loses its database answers
   * 503 in the error shape itself, and is no worse a choice than any other then.
   */
  async ready(service: ServiceName): Promise<boolean> {
    const statuses = await Promise.all(
      this.services[service].map((instance) => this.statusOf(instance, '/readyz').catch(() => 0)),
    );
    return statuses.includes(200);
  }

  private async probeAll(): Promise<void> {
    await Promise.all(
      Object.values(this.services)
        .flat()
        .map((i) => this.probeOne(i)),
    );
  }

  private async probeOne(instance: Instance): Promise<void> {
    try {
      const status = await this.statusOf(instance, '/healthz');
      const ok = status === 200;
      if (ok && !instance.seen)
        this.logger.info({ upstream: instance.url, service: instance.service }, 'upstream answering');
      else if (ok && !instance.healthy) this.logger.info({ upstream: instance.url }, 'upstream back up');
      if (!ok) this.markDown(instance, `health ${status}`);
      else {
        instance.healthy = true;
        instance.seen = true;
      }
    } catch (err) {
      this.markDown(instance, (err as Error).message);
    }
  }

  /** The status an instance answers a GET of one of its probe paths with, within 1 s. */
  private async statusOf(instance: Instance, path: '/healthz' | '/readyz'): Promise<number> {
    const res = await instance.pool.request({ path, method: 'GET', headersTimeout: 1000, bodyTimeout: 1000 });
    await res.body.dump();
    return res.statusCode;
  }
}
export type { Instance };
