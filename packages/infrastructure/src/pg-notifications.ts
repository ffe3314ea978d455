import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { CONNECT_TIMEOUT_MS } from './database.js';

/** Between attempts to get the listening connection back: doubling from the first to the last. */
const RECONNECT_MS = [500, 10_000] as const;
/** Ending a connection waits for the server this long at most; then the socket is dropped. */
const END_TIMEOUT_MS = 1000;
/** Heartbeats whose payload starts so are the instances' own; they never count as a change. */
const HEARTBEAT_PREFIX = 'heartbeat:';

export interface PgNotificationsOptions {
  /**
   * How often the connection notifies itself, and how long the notification may take to come back
   * before the connection counts as lost: a connection that died without an error (a half-open
   * socket after a failover, a dropped NAT entry) would otherwise look alive while hearing nothing.
   */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
}

/**
 * One channel's NOTIFYs, on a connection of its own (a pooled one would go back to the pool and stop
 * listening): a count that moves on each notification, and a wait for it to move. Notifications
 * arrive after the notifying transaction committed, so a reader that takes `version`, then reads,
 * then waits for a newer version misses nothing: a commit its read did not see notifies after it.
 *
 * While the connection is down, `changedSince` answers at once: a caller then asks again later
 * rather than sleeping through a notification it cannot get. Getting the connection back counts as a
 * change, as notifications in the gap are lost. The connection proves itself alive with a heartbeat
 * (a notification to itself) every few seconds.
 */
export class PgNotifications {
  private client: pg.Client | undefined;
  private seen = 0;
  private live = false;
  private closed = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private heartbeatDue: NodeJS.Timeout | undefined;
  private readonly heartbeatPayload = `${HEARTBEAT_PREFIX}${randomUUID()}`;
  private readonly heartbeatMs: number;
  private readonly heartbeatTimeoutMs: number;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly logger: Logger,
    opts: PgNotificationsOptions = {},
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a plain channel name: ${channel}`);
    this.heartbeatMs = opts.heartbeatMs ?? 5000;
    this.heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 2000;
  }

  /** Connects and listens; on failure keeps trying in the background (waits answer at once meanwhile). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Stops listening and ends every wait. */
  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.stopHeartbeat();
    this.wakeAll();
    const client = this.client;
    this.client = undefined;
    this.live = false;
    if (client) await endWithin(client);
  }

  get listening(): boolean {
    return this.live;
  }

  /** Moves on each notification, and when the connection comes back. */
  get version(): number {
    return this.seen;
  }

  /**
   * Whether there is reason to read again: true once `version` is no longer `since` (at once if it
   * already is not) or the connection was lost; false after `ms` with no change, and at once while
   * not listening or stopped.
   */
  changedSince(since: number, ms: number): Promise<boolean> {
    if (this.seen !== since) return Promise.resolve(true);
    if (!this.live || this.closed || ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (changed: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(changed);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.waiters.add(wake);
    });
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    this.client = client;
    client.on('notification', (msg) => {
      if (msg.channel !== this.channel) return;
      if (msg.payload?.startsWith(HEARTBEAT_PREFIX)) {
        if (msg.payload === this.heartbeatPayload) {
          clearTimeout(this.heartbeatDue);
          this.heartbeatDue = undefined;
        }
        return;
      }
      this.seen++;
      this.wakeAll();
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`listen ${this.channel}`);
    } catch (err) {
      this.lost(client, err as Error);
      return;
    }
    if (this.client !== client) {
      // Stopped, or lost while listening began.
      await endWithin(client);
      return;
    }
    this.live = true;
    if (this.attempt > 0) this.logger.info({ channel: this.channel }, 'notification connection back');
    this.attempt = 0;
    this.startHeartbeat(client);
    // Notifications sent while no connection listened are gone: readers must look again.
    this.seen++;
    this.wakeAll();
  }

  private startHeartbeat(client: pg.Client): void {
    this.heartbeat = setInterval(() => {
      if (this.heartbeatDue !== undefined) return; // the last one is still on its way
      this.heartbeatDue = setTimeout(
        () => this.lost(client, new Error(`no heartbeat within ${this.heartbeatTimeoutMs} ms`)),
        this.heartbeatTimeoutMs,
      );
      this.heartbeatDue.unref();
      client
        .query('select pg_notify($1, $2)', [this.channel, this.heartbeatPayload])
        .catch((err: Error) => this.lost(client, err));
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    clearTimeout(this.heartbeatDue);
    this.heartbeatDue = undefined;
  }

  /** The connection `client` failed, ended or fell silent: waits answer at once, and a new one is tried later. */
  private lost(client: pg.Client, err?: Error): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    this.stopHeartbeat();
    const wasLive = this.live;
    this.live = false;
    this.wakeAll();
    void endWithin(client);
    if (wasLive || this.attempt === 0) {
      this.logger.warn(
        { channel: this.channel, err: err ? { message: err.message } : undefined },
        'notification connection lost; waits answer at once until it is back',
      );
    }
    const delay = Math.min(RECONNECT_MS[1], RECONNECT_MS[0] * 2 ** this.attempt++);
    this.retry = setTimeout(() => void this.connect(), delay);
    this.retry.unref();
  }

  private wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

/** Ends a connection, dropping its socket if the server does not answer in time (a dead peer never does). */
async function endWithin(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = client.end().then(
    () => true,
    () => true,
  );
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), END_TIMEOUT_MS);
    timer.unref();
  });
  if (!(await Promise.race([ended, late]))) {
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
  clearTimeout(timer);
}
