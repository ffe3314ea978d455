import type { Db } from '@rewards/infrastructure/persistence';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';

/** A node of a plan as EXPLAIN (FORMAT JSON) writes it. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

export interface PlannedStatement {
  /** The statement's first line that says something, for the failure message. */
  text: string;
  plan: PlanNode;
}

/**
 * A Drizzle database on one connection that plans every prepared statement generically, as a pool's
 * connection does once a statement's custom plans stop looking cheaper (from its sixth run on), and
 * that hands back each plan (auto_explain, sent to the client as a notice). A generic plan is made
 * from what the planner knows of the tables at that moment: on a new or freshly grown table, next to
 * nothing. A statement on the hot path must find its rows by index even then. Loading auto_explain
 * takes a superuser, as the test servers' users are.
 */
export async function planningConnection(
  url: string,
): Promise<{ db: Db; planned: PlannedStatement[]; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const planned: PlannedStatement[] = [];
  client.on('notice', (notice) => {
    const at = notice.message?.indexOf('plan:\n') ?? -1;
    if (at < 0) return;
    const explained = JSON.parse(notice.message!.slice(at + 'plan:\n'.length)) as {
      'Query Text': string;
      Plan: PlanNode;
    };
    const text = explained['Query Text'].split('\n').find((l) => l.trim() !== '') ?? '';
    planned.push({ text: text.trim().slice(0, 100), plan: explained.Plan });
  });
  await client.query(`load 'auto_explain'`);
  for (const setting of [
    'auto_explain.log_min_duration = 0',
    'auto_explain.log_format = json',
    'auto_explain.log_level = notice',
    'plan_cache_mode = force_generic_plan',
  ]) {
    await client.query(`set ${setting}`);
  }
  return {
    db: drizzle(client) as unknown as Db,
    planned,
    close: () => client.end(),
  };
}

/**
 * Each planned statement (those with a text) with the full scans its plan makes, but for those
 * `allowed` by name: a test expects every list empty, and its failure names the statement.
 */
export function fullScansByStatement(
  planned: readonly PlannedStatement[],
  allowed: readonly string[] = [],
): { statement: string; fullScans: string[] }[] {
  return planned
    .filter((p) => p.text.length > 0)
    .map((p) => ({ statement: p.text, fullScans: fullScans(p.plan).filter((scan) => !allowed.includes(scan)) }));
}

/**
 * The scans in a plan that read a table, or an index, from end to end: a sequential scan, or an
 * index scan with no condition on the index. Each as `node on relation (index)`.
 */
function fullScans(plan: PlanNode): string[] {
  const found: string[] = [];
  const visit = (node: PlanNode) => {
    const type = node['Node Type'];
    const reads = type === 'Seq Scan' || (/Index/.test(type) && type.endsWith('Scan') && !node['Index Cond']);
    if (reads)
      found.push(`${type} on ${node['Relation Name'] ?? '?'}${node['Index Name'] ? ` (${node['Index Name']})` : ''}`);
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(plan);
  return found;
}
