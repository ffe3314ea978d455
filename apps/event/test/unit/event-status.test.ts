import { EVENT_STATUSES } from '@rewards/contracts';
import { describe, expect, it } from 'vitest';
import { canMove, isOpen } from '../../src/domain/event-status.js';

describe(canMove.name, () => {
  const allowed = new Set(['DRAFT>ACTIVE', 'ACTIVE>PAUSED', 'PAUSED>ACTIVE', 'ACTIVE>ENDED', 'PAUSED>ENDED']);
  it.each(EVENT_STATUSES.flatMap((from) => EVENT_STATUSES.map((to) => [from, to] as const)))('%s → %s', (from, to) => {
    expect(canMove(from, to)).toBe(from === to || allowed.has(`${from}>${to}`));
  });
});

describe(isOpen.name, () => {
  const window = { startsAt: new Date('2026-01-01T00:00:00Z'), endsAt: new Date('2026-02-01T00:00:00Z') };
  it('is open only while ACTIVE inside [startsAt, endsAt)', () => {
    expect(isOpen({ ...window, status: 'ACTIVE' }, new Date('2026-01-01T00:00:00Z'))).toBe(true);
    expect(isOpen({ ...window, status: 'ACTIVE' }, new Date('2026-02-01T00:00:00Z'))).toBe(false);
    expect(isOpen({ ...window, status: 'ACTIVE' }, new Date('2025-12-31T23:59:59Z'))).toBe(false);
    expect(isOpen({ ...window, status: 'PAUSED' }, new Date('2026-01-15T00:00:00Z'))).toBe(false);
    expect(isOpen({ ...window, status: 'DRAFT' }, new Date('2026-01-15T00:00:00Z'))).toBe(false);
  });
});
