import type { Role } from '@rewards/contracts';

/** Who is calling, as established from a verified token. */
export interface Principal {
  /** `user` for people; `api-key` for machine clients exchanging an API key for a short-lived token. */
  readonly kind: 'user' | 'api-key';
  /** The user id, or the API key id. */
  readonly subject: string;
  readonly roles: readonly Role[];
  /** The session a user's token belongs to; for an API key, the key's id (revoked like a session). */
  readonly sessionId?: string;
  /** An API key's scopes (`activities:write`, `grants:read`). */
  readonly scopes?: readonly string[];
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
  /** False until the verifier can decide (keys and session state loaded); absent when always ready. */
  readonly ready?: boolean;
  /** Background work (key refresh, revocation polling), started and stopped with the service's module. */
  start?(): void;
  stop?(): void;
}

export const TOKEN_VERIFIER = Symbol('TOKEN_VERIFIER');
