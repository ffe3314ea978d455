import type { Role } from '@rewards/contracts';

/** Who is calling, as established from a verified token. */
export interface Principal {
  /** `user` for people; `api-key` for machine clients exchanging an API key for a short-lived token. */
  readonly kind: 'user' | 'api-key';
  /** The user id, or the API key id. */
  readonly subject: string;
  readonly roles: readonly Role[];
  readonly sessionId?: string;
  readonly scope?: string;
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
  /** False until the verifier can decide (keys and session state loaded); absent when always ready. */
  readonly ready?: boolean;
}

export const TOKEN_VERIFIER = Symbol('TOKEN_VERIFIER');
export const INGEST_SCOPE = 'activities:write';
