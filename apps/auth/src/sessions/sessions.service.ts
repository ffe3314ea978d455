import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AppError, type Logger, METRICS, type Metrics } from '@rewards/infrastructure';
import {
  type CommitFeedCursor,
  decodeCommitFeedCursor,
  encodeCommitFeedCursor,
  FEED_START,
  ForeignFeedCursor,
  PgNotifications,
  UnitOfWork,
} from '@rewards/infrastructure/persistence';
import { Gauge } from 'prom-client';
import { API_KEY_TOKEN_TTL_SECONDS } from '../api-keys/api-keys.service.js';
import { AUTH_CONFIG, AUTH_LOGGER, type AuthConfig } from '../config.js';
import { SessionRepository } from './session.repository.js';

/**
 * The feed position a reader sent back, or undefined for one this service never handed out.
 * Positions of earlier versions, `<tx>.<seq>` (every revocation before that place read), go on from there.
 */
export function decodeFeedPosition(raw: string): CommitFeedCursor | undefined {
  const legacy = /^(\d{1,15})\.(\d{1,15})$/.exec(raw);
  if (legacy) return { ...FEED_START, after: [BigInt(legacy[1]!), BigInt(legacy[2]!) - 1n] };
  return decodeCommitFeedCursor(raw);
}

/** The longest a revocation feed read may wait for a revocation (`wait`, in seconds). */
export const REVOCATIONS_MAX_WAIT_SECONDS = 30;

@Injectable()
export class SessionsService implements OnModuleInit, OnModuleDestroy {
  /** Commits of revocations (migration 0010's trigger), on every instance. */
  private readonly committed: PgNotifications;
  /** The service is stopping: a read woken by it answers with what it has. */
  private stopping = false;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly sessions: SessionRepository,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    @Inject(AUTH_LOGGER) logger: Logger,
    @Inject(METRICS) metrics: Metrics,
  ) {
    const committed = new PgNotifications(config.AUTH_DATABASE_URL, 'session_revocations', logger);
    this.committed = committed;
    new Gauge({
      name: 'revocation_feed_listening',
      help: 'Whether this instance hears revocations commit (1), so feed reads wait for them; 0: they answer at once',
      registers: [metrics.registry],
      collect() {
        this.set(committed.listening ? 1 : 0);
      },
    });
  }

  async onModuleInit(): Promise<void> {
    await this.committed.start();
  }

  /**
   * Waiting reads answer (with what they have) before the server closes, and read nothing more: the
   * database closes right after.
   */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.committed.stop();
  }

  /**
   * The feed of ended sessions and revoked API keys, paged by a commit-safe cursor: a reader that
   * sends back `next` as `after` sees every revocation, including ones committed late.
   *
   * With `waitSeconds`, a read that finds nothing waits up to that long for a revocation to commit
   * (a long poll), so the gateway and the event service hear of one at once without asking several
   * times a second. While this instance cannot listen for commits, it answers at once and the
   * reader's own spacing between reads bounds the delay.
   */
  async revocations(after?: string, waitSeconds = 0) {
    const deadline = Date.now() + waitSeconds * 1000;
    let position = after;
    for (;;) {
      const since = this.committed.version;
      const page = await this.readRevocations(position);
      if (page.items.length > 0) return page;
      position = page.next;
      if (!(await this.committed.changedSince(since, deadline - Date.now())) || this.stopping) return page;
    }
  }

  private async readRevocations(after: string | undefined) {
    // An entry matters while a token it refuses can still be unexpired.
    const keep = (Math.max(this.config.ACCESS_TOKEN_TTL_SECONDS, API_KEY_TOKEN_TTL_SECONDS) + 60) * 1000;
    const unknown = () =>
      new AppError('VALIDATION_FAILED', 'Request is invalid', [
        { path: 'after', code: 'invalid', message: 'Unknown feed position' },
      ]);
    const from = after === undefined ? FEED_START : decodeFeedPosition(after);
    if (!from) throw unknown();
    const { items, next } = await this.sessions.revocationFeed(this.uow.db, from, keep / 1000).catch((err) => {
      throw err instanceof ForeignFeedCursor ? unknown() : err;
    });
    return {
      items: items.map((r) => ({
        sessionId: r.sessionId,
        expiresAt: new Date(r.revokedAt.getTime() + keep).toISOString(),
      })),
      next: encodeCommitFeedCursor(next),
    };
  }
}
