import type { EventStatus } from '@rewards/contracts';

/** DRAFT → ACTIVE ⇄ PAUSED → ENDED; an active event may also end directly. */
const MOVES: Record<EventStatus, readonly EventStatus[]> = {
  DRAFT: ['ACTIVE'],
  ACTIVE: ['PAUSED', 'ENDED'],
  PAUSED: ['ACTIVE', 'ENDED'],
  ENDED: [],
};

export function canMove(from: EventStatus, to: EventStatus): boolean {
  return from === to || MOVES[from].includes(to);
}

/** Whether claims can succeed now: active and inside the window [startsAt, endsAt). */
export function isOpen(event: { status: EventStatus; startsAt: Date; endsAt: Date }, now: Date): boolean {
  return event.status === 'ACTIVE' && now >= event.startsAt && now < event.endsAt;
}
