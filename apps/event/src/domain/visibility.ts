import type { EventStatus, Role } from '@rewards/contracts';

/** Who is asking, as far as visibility goes: a principal's id and roles. */
interface Viewer {
  readonly subject: string;
  readonly roles: readonly Role[];
}

const STAFF: readonly Role[] = ['OPERATOR', 'AUDITOR', 'ADMIN'];

/** Operators, auditors and admins see every event and every claim; players see their own claims. */
export const isStaff = (viewer: Pick<Viewer, 'roles'>): boolean => viewer.roles.some((r) => STAFF.includes(r));

/**
 * The one visibility rule for everything under /events/{id}: for a player a DRAFT does not exist.
 * Every path that reads an event for a caller (reads, progress, claims) asks this before acting, and
 * answers exactly as for an unknown id.
 */
export const canSee = (viewer: Pick<Viewer, 'roles'>, event: { status: EventStatus }): boolean =>
  event.status !== 'DRAFT' || isStaff(viewer);

/** A player sees their own claims only; anyone else's answers as an unknown id. */
export const canSeeClaim = (viewer: Viewer, claim: { userId: string }): boolean =>
  isStaff(viewer) || claim.userId === viewer.subject;
