import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { AuditEntry, AuditQuery } from '@rewards/contracts';
import { toPage } from '@rewards/infrastructure';
import type { Db } from '@rewards/infrastructure/persistence';
import { and, asc, desc, eq, gt, gte, lte, sql } from 'drizzle-orm';
import { afterCursor } from '../keyset.js';
import { auditLog, type AuditRow } from '../schema.js';

export interface AuditInput {
  id: string;
  actorId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
  at: Date;
}

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted, so the same entry always hashes the same, whatever stored it. */
export function canonicalJson(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function entryHash(prevHash: string, e: AuditInput): string {
  const body = canonicalJson({
    id: e.id,
    actorId: e.actorId,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    before: e.before ?? null,
    after: e.after ?? null,
    requestId: e.requestId,
    at: e.at.toISOString(),
  });
  return createHash('sha256').update(`${prevHash}\n${body}`).digest('hex');
}

/** What jsonb gives back: a JSON round trip, so the hash computed now matches the one recomputed later. */
const asStored = (v: unknown) => (v === undefined ? null : JSON.parse(JSON.stringify(v)));

export const toAuditEntry = (r: AuditRow): AuditEntry => ({
  id: r.id,
  actorId: r.actorId,
  action: r.action,
  targetType: r.targetType,
  targetId: r.targetId,
  before: r.before,
  after: r.after,
  requestId: r.requestId,
  at: r.at.toISOString(),
  hash: r.hash,
});

/**
 * The append-only audit log. Each entry carries the hash of the previous one, so changing,
 * removing or reordering any entry breaks the chain from there on. Appends are serialized by an
 * advisory lock so the chain stays linear across instances.
 */
@Injectable()
export class AuditRepository {
  async append(tx: Db, input: AuditInput): Promise<void> {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('audit-log'))`);
    const [exists] = await tx.select({ seq: auditLog.seq }).from(auditLog).where(eq(auditLog.id, input.id));
    if (exists) return;
    const [last] = await tx.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1);
    const entry = {
      ...input,
      before: asStored(input.before),
      after: asStored(input.after),
      at: new Date(input.at.getTime()),
    };
    const prevHash = last?.hash ?? GENESIS_HASH;
    await tx.insert(auditLog).values({ ...entry, prevHash, hash: entryHash(prevHash, entry) });
  }

  async list(tx: Db, q: AuditQuery) {
    const rows = await tx
      .select()
      .from(auditLog)
      .where(
        and(
          q.actorId ? eq(auditLog.actorId, q.actorId) : undefined,
          q.action ? eq(auditLog.action, q.action) : undefined,
          q.from ? gte(auditLog.at, new Date(q.from)) : undefined,
          q.to ? lte(auditLog.at, new Date(q.to)) : undefined,
          afterCursor(auditLog.at, auditLog.id, q.cursor),
        ),
      )
      .orderBy(desc(auditLog.at), desc(auditLog.id))
      .limit(q.limit + 1);
    return toPage(rows, q.limit, (r) => ({ at: r.at, id: r.id }), toAuditEntry);
  }

  /** Recomputes every hash in order; the first entry whose stored hash or link disagrees is reported. */
  async verify(tx: Db): Promise<{ valid: boolean; entries: number; firstBrokenId: string | null }> {
    let prevHash = GENESIS_HASH;
    let entries = 0;
    let afterSeq = 0;
    for (;;) {
      const rows = await tx
        .select()
        .from(auditLog)
        .where(gt(auditLog.seq, afterSeq))
        .orderBy(asc(auditLog.seq))
        .limit(1000);
      if (rows.length === 0) return { valid: true, entries, firstBrokenId: null };
      for (const r of rows) {
        entries++;
        if (r.prevHash !== prevHash || entryHash(prevHash, r) !== r.hash)
          return { valid: false, entries, firstBrokenId: r.id };
        prevHash = r.hash;
      }
      afterSeq = rows.at(-1)!.seq;
    }
  }
}
