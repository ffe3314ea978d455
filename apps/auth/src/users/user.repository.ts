import { Inject, Injectable } from '@nestjs/common';
import type { Role, User } from '@rewards/contracts';
import { DATABASE, type Database, type Db } from '@rewards/infrastructure/persistence';
import { and, arrayContains, asc, eq, getTableColumns, ilike, sql } from 'drizzle-orm';
import { users, type UserRow } from '../schema.js';

export const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  displayName: r.displayName,
  roles: r.roles as Role[],
  inviteCode: r.inviteCode,
  createdAt: r.createdAt.toISOString(),
});

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

@Injectable()
export class UserRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  async insert(row: typeof users.$inferInsert, db: Db = this.database.db): Promise<UserRow> {
    const [created] = await db.insert(users).values(row).returning();
    return created!;
  }

  async findByEmail(email: string, db: Db = this.database.db): Promise<UserRow | undefined> {
    const [row] = await db.select().from(users).where(eq(users.email, email));
    return row;
  }

  async findById(id: string, db: Db = this.database.db): Promise<UserRow | undefined> {
    const [row] = await db.select().from(users).where(eq(users.id, id));
    return row;
  }

  /** Row lock: serializes session changes of one user. */
  async lock(id: string, db: Db): Promise<UserRow | undefined> {
    const [row] = await db.select().from(users).where(eq(users.id, id)).for('update');
    return row;
  }

  async findByInviteCode(code: string, db: Db = this.database.db): Promise<UserRow | undefined> {
    const [row] = await db.select().from(users).where(eq(users.inviteCode, code));
    return row;
  }

  async setRoles(id: string, roles: Role[], db: Db): Promise<UserRow | undefined> {
    const [row] = await db.update(users).set({ roles }).where(eq(users.id, id)).returning();
    return row;
  }

  async countWithRole(role: Role, db: Db = this.database.db): Promise<number> {
    const [row] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(users)
      .where(arrayContains(users.roles, [role]));
    return row!.n;
  }

  /**
   * Keyset page ordered by (created_at, id): stable while users register. The cursor position is
   * carried at the database's full (microsecond) precision: a millisecond JS Date would sort before
   * the row it came from, and the next page would return that row again.
   */
  async list(filter: { role?: Role; email?: string; limit: number; after?: { createdAt: string; id: string } }) {
    const conditions = [
      filter.role ? arrayContains(users.roles, [filter.role]) : undefined,
      filter.email ? ilike(users.email, `%${escapeLike(filter.email)}%`) : undefined,
      filter.after
        ? sql`(${users.createdAt}, ${users.id}) > (${filter.after.createdAt}::timestamptz, ${filter.after.id}::uuid)`
        : undefined,
    ].filter(Boolean);
    return this.database.db
      .select({
        ...getTableColumns(users),
        cursorAt: sql<string>`to_char(${users.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
      })
      .from(users)
      .where(and(...conditions))
      .orderBy(asc(users.createdAt), asc(users.id))
      .limit(filter.limit + 1);
  }
}
