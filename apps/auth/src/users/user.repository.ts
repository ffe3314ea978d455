import { Injectable } from '@nestjs/common';
import type { Role, User } from '@rewards/contracts';
import { type Position } from '@rewards/infrastructure';
import { type Db } from '@rewards/infrastructure/persistence';
import { and, arrayContains, asc, eq, ilike, type SQL, sql } from 'drizzle-orm';
import { users, type UserRow } from '../schema.js';

/** The API's user: no password hash, no inviter, the creation time as an ISO string. */
export const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  displayName: r.displayName,
  roles: r.roles,
  inviteCode: r.inviteCode,
  createdAt: r.createdAt.toISOString(),
});

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

@Injectable()
export class UserRepository {
  async insert(tx: Db, row: typeof users.$inferInsert): Promise<UserRow> {
    const [created] = await tx.insert(users).values(row).returning();
    return created!;
  }

  async findByEmail(db: Db, email: string): Promise<UserRow | undefined> {
    const [row] = await db.select().from(users).where(eq(users.email, email));
    return row;
  }

  /** The account's id and password hash, as a query to run inside another statement. */
  credentialsByEmail(email: string): SQL<{ id: string; passwordHash: string }> {
    return sql`select id, password_hash as "passwordHash" from users where email = ${email}`;
  }

  async findById(db: Db, id: string): Promise<UserRow | undefined> {
    const [row] = await db.select().from(users).where(eq(users.id, id));
    return row;
  }

  /** Row lock: serializes session changes of one user. */
  async lock(tx: Db, id: string): Promise<UserRow | undefined> {
    const [row] = await tx.select().from(users).where(eq(users.id, id)).for('update');
    return row;
  }

  /** `lock` as a query to run inside another statement: the row's roles, under the row lock. */
  lockedRoles(id: string): SQL<{ roles: Role[] }> {
    return sql`select roles from users where id = ${id} for update`;
  }

  /** Serializes role changes for the rest of the transaction (UsersService.setRoles says why). */
  async lockRoleChanges(tx: Db): Promise<void> {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('auth:roles'))`);
  }

  /** Serializes the first-administrator check of instances starting at once, for the rest of the transaction. */
  async lockAdminBootstrap(tx: Db): Promise<void> {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('auth:bootstrap-admin'))`);
  }

  async findByInviteCode(db: Db, code: string): Promise<UserRow | undefined> {
    const [row] = await db.select().from(users).where(eq(users.inviteCode, code));
    return row;
  }

  async setRoles(tx: Db, id: string, roles: Role[]): Promise<UserRow | undefined> {
    const [row] = await tx.update(users).set({ roles }).where(eq(users.id, id)).returning();
    return row;
  }

  async countWithRole(db: Db, role: Role): Promise<number> {
    const [row] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(users)
      .where(arrayContains(users.roles, [role]));
    return row!.n;
  }

  /**
   * Keyset page ordered by (created_at, id): stable while users register. created_at is stored at
   * millisecond precision (migration 0007), so the JS Date a cursor carries is the row's exact
   * position; with microseconds stored, a row would sort after its own cursor and come back on the
   * next page. Returns one row more than `limit`, to tell whether another page exists.
   */
  async list(db: Db, filter: { role?: Role; email?: string; limit: number; after?: Position }): Promise<UserRow[]> {
    const { after } = filter;
    const conditions = [
      filter.role ? arrayContains(users.roles, [filter.role]) : undefined,
      filter.email ? ilike(users.email, `%${escapeLike(filter.email)}%`) : undefined,
      after
        ? sql`(${users.createdAt}, ${users.id}) > (${after.at.toISOString()}::timestamptz, ${after.id}::uuid)`
        : undefined,
    ].filter(Boolean);
    return db
      .select()
      .from(users)
      .where(and(...conditions))
      .orderBy(asc(users.createdAt), asc(users.id))
      .limit(filter.limit + 1);
  }
}
