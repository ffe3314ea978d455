/** The viewer's own time zone (dates are shown in it unless an event's zone matters). */
export const viewerZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** A moment for people: in the viewer's zone unless told which, in the console's language. */
export function formatDateTime(iso: string | null | undefined, lang: string, timeZone?: string): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(lang, {
    dateStyle: 'medium',
    timeStyle: 'short',
    ...(timeZone ? { timeZone } : {}),
  }).format(new Date(iso));
}

/** The offset of a zone at an instant, in minutes east of UTC. */
function offsetMinutes(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(instant / 1000) * 1000) / 60_000);
}

const pad = (n: number) => String(Math.abs(n)).padStart(2, '0');

/**
 * A wall-clock time (`2026-12-01T09:30`, as a datetime-local input gives it) in a zone, as ISO-8601
 * with that zone's offset at that moment (`2026-12-01T09:30:00+09:00`). Undefined for an empty or bad input.
 */
export function zonedToIso(local: string, timeZone: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as number[];
  const wall = Date.UTC(y!, mo! - 1, d!, h!, mi!, s ?? 0);
  // The offset at the guessed instant, then again at the corrected one (across a DST change).
  let offset = offsetMinutes(wall, timeZone);
  offset = offsetMinutes(wall - offset * 60_000, timeZone);
  const sign = offset < 0 ? '-' : '+';
  const zone = `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${pad(s ?? 0)}${zone}`;
}

/** An instant as the wall-clock time of a zone, in the datetime-local input's format (`2026-12-01T09:30`). */
export function isoToZoned(iso: string, timeZone: string): string {
  const instant = Date.parse(iso);
  const shifted = new Date(instant + offsetMinutes(instant, timeZone) * 60_000);
  return shifted.toISOString().slice(0, 16);
}

/** Every IANA zone the browser knows, for the time-zone picker. */
export function timeZones(): string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  const zones = new Set(supported);
  for (const z of ['Asia/Seoul', 'UTC', viewerZone()]) zones.add(z);
  return [...zones].sort();
}

/** Rows as CSV (RFC 4180: quoted when needed, CRLF line ends). */
export function toCsv(header: string[], rows: (string | number | null | undefined)[][]): string {
  const cell = (v: string | number | null | undefined) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n');
}
