import { Injectable } from '@nestjs/common';
import type { GrantsFeedQuery } from '@rewards/contracts';
import { AppError } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { type FeedPosition, GrantsFeedRepository } from './grants-feed.repository.js';

/** Before the first grant: where a reader without a cursor starts. */
const START: FeedPosition = { tx: '0', seq: '0' };
/** A non-negative bigint in decimal, without leading zeros. */
const BIGINT = /^(0|[1-9][0-9]{0,18})$/;
const BIGINT_MAX = 2n ** 63n - 1n;

/** Opaque to clients: base64url of `[tx, seq]`. */
export const encodeFeedCursor = (p: FeedPosition): string =>
  Buffer.from(JSON.stringify([p.tx, p.seq])).toString('base64url');

/** The JSON a cursor carries, or undefined when it carries none. */
function cursorContent(raw: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(raw)) return undefined;
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString());
  } catch {
    return undefined;
  }
}

const isBigint = (v: unknown): v is string => typeof v === 'string' && BIGINT.test(v) && BigInt(v) <= BIGINT_MAX;

/** A cursor this service handed out; anything else is the caller's mistake (400 on `after`). */
export function decodeFeedCursor(raw: string): FeedPosition {
  const content = cursorContent(raw);
  if (Array.isArray(content) && content.length === 2 && isBigint(content[0]) && isBigint(content[1]))
    return { tx: content[0], seq: content[1] };
  throw new AppError('VALIDATION_FAILED', 'Request is invalid', [
    { path: 'after', code: 'invalid', message: 'Unknown cursor' },
  ]);
}

/** The grants feed game servers drain: every committed grant exactly once, in the order of its transaction. */
@Injectable()
export class GrantsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly feedRepo: GrantsFeedRepository,
  ) {}

  async feed(query: GrantsFeedQuery) {
    const from = query.after ? decodeFeedCursor(query.after) : START;
    const { items, next } = await this.feedRepo.feed(this.uow.db, from, query.limit, query.userId);
    // A page with nothing new answers the very cursor it was given.
    return { items, nextCursor: items.length === 0 && query.after ? query.after : encodeFeedCursor(next) };
  }
}
