import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Role, User, UsersQuery } from '@rewards/contracts';
import { AppError, decodeCursor, toPage, type Principal } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { OutboxRelay } from '../outbox/outbox.relay.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { toUser, UserRepository } from './user.repository.js';

@Injectable()
export class UsersService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly outbox: OutboxRepository,
    private readonly relay: OutboxRelay,
  ) {}

  async list(q: UsersQuery): Promise<{ items: User[]; nextCursor: string | null }> {
    const rows = await this.users.list(this.uow.db, {
      role: q.role,
      email: q.email?.toLowerCase(),
      limit: q.limit,
      after: q.cursor ? decodeCursor(q.cursor) : undefined,
    });
    return toPage(rows, q.limit, (r) => ({ at: r.createdAt, id: r.id }), toUser);
  }

  /** Replaces the roles and ends the user's session, so tokens carrying the old roles stop working. */
  async setRoles(
    actor: Principal,
    requestId: string,
    userId: string,
    roles: Role[],
  ): Promise<{ before: User; after: User }> {
    const result = await this.uow.transaction(async (tx) => {
      // Role changes are serialized: locking only the target row let two admins demote each other
      // at once, each counting the other as the remaining admin, and leave none.
      await this.users.lockRoleChanges(tx);
      const before = await this.users.lock(tx, userId);
      if (!before) throw new AppError('NOT_FOUND', 'User not found');
      const losesAdmin = before.roles.includes('ADMIN') && !roles.includes('ADMIN');
      if (losesAdmin && (await this.users.countWithRole(tx, 'ADMIN')) <= 1) {
        throw new AppError('INVALID_STATE', 'The last administrator cannot lose the ADMIN role');
      }
      const after = await this.users.setRoles(tx, userId, [...new Set(roles)]);
      await this.sessions.revoke(tx, userId, 'roles-changed');
      await this.outbox.addAudit(tx, {
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
