import { TOKEN_AUDIENCE, TOKEN_ISSUER, type Role } from '@rewards/contracts';
import { decodeProtectedHeader, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { AppError } from './errors.js';
import type { Principal, TokenVerifier } from './principal.js';

export interface RemoteVerifierOptions {
  /** Auth instances; each call tries them in turn until one answers. */
  authUrls: string[];
  internalSecret: string;
  logger: Logger;
  /**
   * The least time between two reads of the revocation feed. Each read waits at auth until a
   * revocation commits, so a replaced session's tokens are refused within one request of its commit,
   * or within this when revocations follow each other closer than this.
   */
  revocationPollMs?: number;
  keyRefreshMs?: number;
}

type Key = Awaited<ReturnType<typeof importJWK>>;

/**
 * How long auth may hold a revocation read that finds nothing new (auth allows up to 30). A held read
 * to an instance that vanished without closing the connection fails only at its timeout (this plus
 * 3 s); the next read then starts at another instance.
 */
const LONG_POLL_SECONDS = 10;
/** A call to auth that does not wait on purpose (keys, a plain feed read) fails after this. */
const AUTH_TIMEOUT_MS = 2000;
/** After auth refused `wait` (an older auth), how long reads answer at once before `wait` is tried again. */
const LONG_POLL_RETRY_MS = 5 * 60_000;

/** Verified tokens remembered at most; past this the memory starts over. */
const VERIFIED_CACHE_SIZE = 50_000;

export function principalFromPayload(payload: JWTPayload): Principal {
  const roles = Array.isArray(payload.roles) ? (payload.roles as Role[]) : [];
  if (payload.kind === 'api-key') {
    if (typeof payload.sub !== 'string') throw new AppError('UNAUTHENTICATED', 'Token is missing required claims');
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
    // The key's id is its "session": revoking the key publishes it on the revocation feed.
    return {
      kind: 'api-key',
      subject: payload.sub,
      roles: [],
      sessionId: typeof payload.sid === 'string' ? payload.sid : payload.sub,
      scopes,
    };
  }
  if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') {
    throw new AppError('UNAUTHENTICATED', 'Token is missing required claims');
  }
  return { kind: 'user', subject: payload.sub, roles, sessionId: payload.sid };
}

/**
 * Verifies access tokens away from auth: signature against auth's JWKS (cached, refetched on an
 * unknown `kid`), issuer, audience, expiry, and the session against a feed of revoked sessions
 * polled from auth. When auth goes away, the last known keys and revocations keep serving, so
 * issued tokens work until they expire.
 */
export class RemoteTokenVerifier implements TokenVerifier {
  private keys = new Map<string, Key>();
  private verified = new Map<string, { principal: Principal; until: number }>();
  private keysLoadedAt = 0;
  private keyFetch: Promise<void> | null = null;
  private waitingForKeys = false;
  private revoked = new Map<string, number>();
  /** The feed's cursor (auth's commit-safe position), sent back on the next poll. */
  private since: string | undefined;
  private revocationsSynced = false;
  private timers: NodeJS.Timeout[] = [];
  /** When auth last refused the `wait` parameter (an older auth): reads answer at once for a while. */
  private longPollRefusedAt = -Infinity;
  /** The auth instance that answered last: the next call starts there. */
  private preferred = 0;
  /** Moves on each start() and stop(): a feed loop runs while it holds the value it started with. */
  private generation = 0;
  private pollAbort: AbortController | undefined;
  private wakeFollower: (() => void) | undefined;

  constructor(private readonly opts: RemoteVerifierOptions) {}

  start(): void {
    void this.refreshKeys();
    void this.followRevocations(++this.generation);
    // Until auth has answered once (it may start after us), keep asking for its keys.
    const keysMissing = setInterval(() => {
      if (this.keys.size === 0) void this.refreshKeys();
    }, this.opts.revocationPollMs ?? 250);
    const keys = setInterval(() => void this.refreshKeys(), this.opts.keyRefreshMs ?? 300_000);
    keysMissing.unref();
    keys.unref();
    this.timers.push(keysMissing, keys);
  }

  stop(): void {
    this.generation++;
    this.timers.forEach(clearInterval);
    this.timers = [];
    this.pollAbort?.abort();
    this.wakeFollower?.();
  }

  get ready(): boolean {
    return this.keys.size > 0 && this.revocationsSynced;
  }

  async verify(token: string): Promise<Principal> {
    const principal = await this.verifySignature(token);
    if (!this.revocationsSynced) throw new AppError('UNAVAILABLE', 'Session state is not available yet');
    if (this.revoked.has(principal.sessionId!)) {
      throw new AppError(
        'UNAUTHENTICATED',
        principal.kind === 'api-key' ? 'API key is invalid or revoked' : 'Session has ended',
      );
    }
    return principal;
  }

  /**
   * Signature, issuer, audience and expiry, remembered per token until it expires: a player's
   * token comes back with every request, and the session check above still runs each time.
   */
  private async verifySignature(token: string): Promise<Principal> {
    const cached = this.verified.get(token);
    if (cached && cached.until > Date.now()) return cached.principal;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw new AppError('UNAUTHENTICATED', 'Token is malformed');
    }
    if (!kid) throw new AppError('UNAUTHENTICATED', 'Token has no key id');
    let key = this.keys.get(kid);
    if (!key && Date.now() - this.keysLoadedAt > 1000) {
      await this.refreshKeys();
      key = this.keys.get(kid);
    }
    if (!key) {
      if (this.keys.size === 0) throw new AppError('UNAVAILABLE', 'Token keys are not available yet');
      throw new AppError('UNAUTHENTICATED', 'Token was signed by an unknown key');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        algorithms: ['ES256'],
        requiredClaims: ['exp', 'sub'],
      }));
    } catch {
      throw new AppError('UNAUTHENTICATED', 'Token is invalid or expired');
    }
    const principal = principalFromPayload(payload);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.clear();
    this.verified.set(token, { principal, until: payload.exp! * 1000 });
    return principal;
  }

  private refreshKeys(): Promise<void> {
    this.keyFetch ??= (async () => {
      try {
        const { keys } = await this.fromAuth<{ keys: JWK[] }>('/.well-known/jwks.json', {});
        const next = new Map<string, Key>();
        for (const jwk of keys) if (jwk.kid) next.set(jwk.kid, await importJWK(jwk, 'ES256'));
        if ([...this.keys.keys()].some((kid) => !next.has(kid))) this.verified.clear(); // a key was withdrawn
        this.keys = next;
        if (this.waitingForKeys) this.opts.logger.info({ keys: next.size }, 'token keys loaded from auth');
        this.waitingForKeys = false;
      } catch (err) {
        if (this.keys.size > 0) {
          this.opts.logger.warn(
            { err: { message: (err as Error).message } },
            'could not refresh token keys; keeping the last known',
          );
        } else if (!this.waitingForKeys) {
          // Auth may simply be starting: say once what we wait for, not on every retry.
          this.waitingForKeys = true;
          this.opts.logger.info({ auth: this.opts.authUrls }, 'waiting for auth to publish its token keys');
        }
      } finally {
        this.keysLoadedAt = Date.now();
        this.keyFetch = null;
      }
    })();
    return this.keyFetch;
  }

  private async fromAuth<T>(
    path: string,
    headers: Record<string, string>,
    { timeoutMs = AUTH_TIMEOUT_MS, signal }: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<T> {
    let lastError: unknown;
    const urls = this.opts.authUrls;
    for (let i = 0; i < urls.length; i++) {
      const at = (this.preferred + i) % urls.length;
      const base = urls[at]!;
      try {
        const timeout = AbortSignal.timeout(timeoutMs);
        const res = await fetch(new URL(path, base), {
          headers,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        if (res.ok) {
          const body = (await res.json()) as T;
          this.preferred = at;
          return body;
        }
        // A 400's body names the fields refused; any other body is discarded.
        let fields: string[] = [];
        if (res.status === 400) fields = await refusedFields(res);
        else await res.body?.cancel();
        lastError = new AuthStatusError(path, res.status, fields);
      } catch (err) {
        if (signal?.aborted) throw err;
        lastError = err;
      }
    }
    throw lastError;
  }

  /**
   * Reads the revocation feed for as long as the verifier runs. Once in step, each read is a long
   * poll: auth answers when a revocation commits, or after LONG_POLL_SECONDS with nothing. Reads
   * start at least `revocationPollMs` apart, which bounds the load when revocations come thick and
   * fast, and the delay when auth cannot hold a read (it then answers at once).
   */
  private async followRevocations(generation: number): Promise<void> {
    const spacing = this.opts.revocationPollMs ?? 250;
    const current = () => generation === this.generation;
    while (current()) {
      const started = Date.now();
      await this.pollRevocations();
      const rest = started + spacing - Date.now();
      if (rest > 0 && current()) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, rest);
          timer.unref();
          this.wakeFollower = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeFollower = undefined;
      }
    }
  }

  private async pollRevocations(): Promise<void> {
    // The first read answers at once, so the verifier is ready as soon as auth is.
    const longPoll = Date.now() - this.longPollRefusedAt > LONG_POLL_RETRY_MS;
    const wait = longPoll && this.revocationsSynced ? LONG_POLL_SECONDS : 0;
    const query = new URLSearchParams();
    if (this.since) query.set('after', this.since);
    if (wait > 0) query.set('wait', String(wait));
    const path = `/internal/revocations${query.size > 0 ? `?${query}` : ''}`;
    const abort = new AbortController();
    this.pollAbort = abort;
    try {
      const body = await this.fromAuth<{ items: { sessionId: string; expiresAt: string }[]; next: string }>(
        path,
        { 'x-internal-secret': this.opts.internalSecret },
        { timeoutMs: wait > 0 ? (wait + 3) * 1000 : AUTH_TIMEOUT_MS, signal: abort.signal },
      );
      for (const r of body.items) this.revoked.set(r.sessionId, Date.parse(r.expiresAt));
      this.since = body.next;
      this.revocationsSynced = true;
      const now = Date.now();
      if (this.revoked.size > 1000) for (const [sid, exp] of this.revoked) if (exp < now) this.revoked.delete(sid);
    } catch (err) {
      if (err instanceof AuthStatusError && err.status === 400) {
        // A position no auth instance reads (one from a newer version, after a rollback): read again
        // from the revocations still in force, which holds every one the position stood for.
        const position = this.since !== undefined && err.fields.includes('after');
        if (position) {
          this.since = undefined;
          this.opts.logger.warn('auth does not read the revocation feed position; reading the feed from its start');
        }
        if (wait > 0 && (!position || err.fields.some((f) => f !== 'after'))) {
          this.longPollRefusedAt = Date.now();
          this.opts.logger.info('auth does not hold revocation reads; reading its feed every poll interval for now');
        }
      }
      this.opts.logger.debug({ err: { message: (err as Error).message } }, 'revocation poll failed');
    } finally {
      if (this.pollAbort === abort) this.pollAbort = undefined;
    }
  }
}

/** Auth answered, with a status other than 2xx; `fields`, the query fields a 400 named. */
class AuthStatusError extends Error {
  constructor(
    path: string,
    readonly status: number,
    readonly fields: string[],
  ) {
    super(`${path} answered ${status}`);
  }
}

/** The fields a VALIDATION_FAILED answer names (its details' paths); none when it names none. */
async function refusedFields(res: Response): Promise<string[]> {
  try {
    const body = (await res.json()) as { error?: { details?: { path?: unknown }[] } };
    return (body.error?.details ?? []).map((d) => (typeof d.path === 'string' ? d.path : ''));
  } catch {
    return [];
  }
}
