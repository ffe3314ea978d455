import type { Repeat } from '@rewards/contracts';
import type { z } from 'zod';

/**
 * Calendar arithmetic in an event's time zone. Days are `YYYY-MM-DD` strings of the local
 * calendar, so a streak across a daylight-saving change is still one day per date.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local calendar date of an instant in `timeZone`. */
export function localDate(instant: Date, timeZone: string): string {
  const parts = formatter(timeZone).formatToParts(instant);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/**
 * The first instant of a local calendar day: the earliest quarter hour whose local date is `day`
 * (a day that starts at 01:00 because midnight was skipped starts then).
 */
export function startOfLocalDay(day: string, timeZone: string): Date {
  // Offsets lie within UTC-12..UTC+14, so the day starts within 15 hours of its UTC midnight.
  let lo = toUtcDay(day) / BUCKET_MS - 60;
  let hi = toUtcDay(day) / BUCKET_MS + 60;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDate(new Date(mid * BUCKET_MS), timeZone) >= day) hi = mid;
    else lo = mid + 1;
  }
  return new Date(lo * BUCKET_MS);
}

const toUtcDay = (day: string) =>
  Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10)));

export function addDays(day: string, n: number): string {
  return new Date(toUtcDay(day) + n * 86_400_000).toISOString().slice(0, 10);
}

/** ISO-8601 week of a calendar date, as `YYYY-Www` (weeks start on Monday; week 1 holds the first Thursday). */
export function isoWeek(day: string): string {
  const t = toUtcDay(day);
  const weekday = (new Date(t).getUTCDay() + 6) % 7; // Monday = 0
  const thursday = new Date(t + (3 - weekday) * 86_400_000);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The period a claim belongs to: one claim per period while it is pending or approved. */
export function periodKey(repeat: z.infer<typeof Repeat>, instant: Date, timeZone: string): string {
  if (repeat === 'NONE') return 'ONCE';
  const day = localDate(instant, timeZone);
  return repeat === 'DAILY' ? day : isoWeek(day);
}

/** Longest run of consecutive calendar days in a set of days. */
export function longestStreak(days: Iterable<string>): number {
  const sorted = [...new Set(days)].sort();
  let best = 0;
  let run = 0;
  let prev: string | undefined;
  for (const day of sorted) {
    run = prev !== undefined && addDays(prev, 1) === day ? run + 1 : 1;
    best = Math.max(best, run);
    prev = day;
  }
  return best;
}

/**
 * Activities are counted in 15-minute buckets. Every time zone in use today is offset from UTC by
 * a whole number of quarter hours, so a bucket never straddles a local midnight and the local day
 * of a bucket's start is the local day of everything in it.
 */
export const BUCKET_MS = 15 * 60 * 1000;
export const bucketFloor = (instant: Date) => new Date(Math.floor(instant.getTime() / BUCKET_MS) * BUCKET_MS);
export const bucketCeil = (instant: Date) => new Date(Math.ceil(instant.getTime() / BUCKET_MS) * BUCKET_MS);

/**
 * How to read an event window [start, end) in a zone: the whole local days inside it come from
 * daily counters; the partial days at either end from 15-minute buckets and the facts themselves.
 */
export interface WindowPlan {
  /** Local dates [from, to) lying entirely inside the window. */
  fullDays?: { from: string; to: string };
  partial: { start: Date; end: Date }[];
  /**
   * With `wholeLastDay`: the window's last local day [start, end), read as a whole day (`fullDays`
   * includes it). Right while no fact of that day lies at or after `end`; a daily counter knows
   * its latest fact (`last_at`), and the range is read from buckets when one does.
   */
  folded?: { day: string; start: Date; end: Date };
}

/** Plans already made: an event's window is read on every claim, and planning it takes ~10 zone conversions. */
const plans = new Map<string, WindowPlan>();
const PLANS_KEPT = 10_000;

/**
 * `wholeLastDay`: read the local day the window ends in as a whole day (see `WindowPlan.folded`):
 * one daily counter instead of that day's buckets, for a window whose end is still ahead.
 */
export function planWindow(start: Date, end: Date, timeZone: string, wholeLastDay = false): WindowPlan {
  const key = `${start.getTime()} ${end.getTime()} ${timeZone} ${wholeLastDay}`;
  let plan = plans.get(key);
  if (!plan) {
    plan = makePlan(start, end, timeZone);
    if (wholeLastDay) plan = foldLastDay(plan, end);
    if (plans.size >= PLANS_KEPT) plans.clear();
    plans.set(key, plan);
  }
  return plan;
}

function foldLastDay(plan: WindowPlan, end: Date): WindowPlan {
  const tail = plan.partial.at(-1);
  if (!plan.fullDays || !tail || tail.end.getTime() !== end.getTime()) return plan;
  const day = plan.fullDays.to;
  return {
    fullDays: { from: plan.fullDays.from, to: addDays(day, 1) },
    partial: plan.partial.slice(0, -1),
    folded: { day, start: tail.start, end },
  };
}

function makePlan(start: Date, end: Date, timeZone: string): WindowPlan {
  const d0 = localDate(start, timeZone);
  const first = startOfLocalDay(d0, timeZone).getTime() === start.getTime() ? d0 : addDays(d0, 1);
  const last = localDate(end, timeZone);
  if (first >= last) return { partial: end > start ? [{ start, end }] : [] };
  const partial = [
    { start, end: startOfLocalDay(first, timeZone) },
    { start: startOfLocalDay(last, timeZone), end },
  ].filter((r) => r.end > r.start);
  return { fullDays: { from: first, to: last }, partial };
}
