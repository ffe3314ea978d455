import { Inject, Injectable } from '@nestjs/common';
import type { Role, User, UsersQuery } from '@rewards/contracts';
import { AppError, type Principal } from '@rewards/infrastructure';
import { DATABASE, type Database } from '@rewards/infrastructure/persistence';
import { sql } from 'drizzle-orm';
import { Outbox, OutboxRelay } from '../outbox/outbox.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { randomUUID } from 'node:crypto';
import { toUser, UserRepository } from './user.repository.js';

interface Cursor {
  c: string;
  i: string;
}
const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
/** `c` is the row's created_at at microsecond precision, as the repository renders it. */
const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
function decodeCursor(raw: string): { createdAt: string; id: string } {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString()) as Cursor;
    if (typeof c.c !== 'string' || !CURSOR_AT.test(c.c) || Number.isNaN(Date.parse(c.c))) throw new Error();
    if (typeof c.i !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(c.i)) throw new Error();
    return { createdAt: c.c, id: c.i };
  } catch {
    throw new AppError('VALIDATION_FAILED', 'Request is invalid', [{ path: 'cursor', code: 'invalid', message: 'Unknown cursor' }]);
  }
}

@Injectable()
export class UsersService {
  constructor(
    @Inject(DATABASE) private readonly database: Database,
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
  ) {}

  async list(q: UsersQuery): Promise<{ items: User[]; nextCursor: string | null }> {
    const rows = await this.users.list({
      role: q.role,
      email: q.email?.toLowerCase(),
      limit: q.limit,
      after: q.cursor ? decodeCursor(q.cursor) : undefined,
    });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      items: page.map(toUser),
      nextCursor: rows.length > q.limit && last ? encodeCursor({ c: last.cursorAt, i: last.id }) : null,
    };
  }

  /** Replaces the roles and ends the user's session, so tokens carrying the old roles stop working. */
  async setRoles(actor: Principal, requestId: string, userId: string, roles: Role[]): Promise<{ before: User; after: User }> {
    const result = await this.database.db.transaction(async (tx) => {
      // Role changes are serialized: locking only the target row let two admins demote each other
      // at once, each counting the other as the remaining admin, and leave none.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('auth:roles'))`);
      const before = await this.users.lock(userId, tx);
      if (!before) throw new AppError('NOT_FOUND', 'User not found');
      if (before.roles.includes('ADMIN') && !roles.includes('ADMIN') && (await this.users.countWithRole('ADMIN', tx)) <= 1) {
        throw new AppError('INVALID_STATE', 'The last administrator cannot lose the ADMIN role');
      }
      const after = await this.users.setRoles(userId, [...new Set(roles)], tx);
      await this.sessions.revoke(userId, 'roles-changed', tx);
      await this.outbox.audit(tx, {
        id: randomUUID(),
        actorId: actor.subject,
        action: 'user.roles.set',
        targetType: 'user',
        targetId: userId,
        before: { roles: before.roles },
        after: { roles: after!.roles },
        requestId,
        at: new Date().toISOString(),
      });
      return { before: toUser(before), after: toUser(after!) };
    });
    this.relay.kick();
    return result;
  }
}
