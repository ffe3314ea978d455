import { Injectable } from '@nestjs/common';
import type { GrantsFeedQuery } from '@rewards/contracts';
import { AppError } from '@rewards/infrastructure';
import {
  type CommitFeedCursor,
  decodeCommitFeedCursor,
  encodeCommitFeedCursor,
  FEED_START,
  ForeignFeedCursor,
  feedCursorJson,
  feedPlaceOf,
  UnitOfWork,
} from '@rewards/infrastructure/persistence';
import { GrantsFeedRepository } from './grants-feed.repository.js';

/**
 * A cursor this service handed out; anything else is the caller's mistake (400 on `after`). Cursors
 * of earlier versions, base64url of `[tx, seq]` (the last grant read, every grant at or before it
 * read), go on from there.
 */
export function decodeFeedCursor(raw: string): CommitFeedCursor {
  const cursor = decodeCommitFeedCursor(raw);
  if (cursor) return cursor;
  const earlier = feedPlaceOf(feedCursorJson(raw));
  if (earlier) return { ...FEED_START, after: earlier };
  throw unknownCursor();
}

const unknownCursor = () =>
  new AppError('VALIDATION_FAILED', 'Request is invalid', [
    { path: 'after', code: 'invalid', message: 'Unknown cursor' },
  ]);

/** The grants feed game servers drain: every committed grant exactly once, in the order their transactions committed. */
@Injectable()
export class GrantsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly feedRepo: GrantsFeedRepository,
  ) {}

  async feed(query: GrantsFeedQuery) {
    const from = query.after ? decodeFeedCursor(query.after) : FEED_START;
    const { items, next } = await this.feedRepo.feed(this.uow.db, from, query.limit, query.userId).catch((err) => {
      throw err instanceof ForeignFeedCursor ? unknownCursor() : err;
    });
    // A page with nothing new answers the very cursor it was given (unless that cursor was part-way
    // through a snapshot's pages, which this page has finished).
    const echo = items.length === 0 && query.after && from.paging === null;
    return { items, nextCursor: echo ? query.after! : encodeCommitFeedCursor(next) };
  }
}
