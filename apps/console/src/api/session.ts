import {
  createClient,
  type CallOptions,
  type CallResult,
  type Routes,
  type TokenResponse,
  type User,
} from '@rewards/contracts';

/** An error answer of the API, in words: its code, message and (for 400) the fields it names. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** Validation issues by field path (`condition.of.1.count`), first message per path. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    if (!Array.isArray(this.details)) return out;
    for (const issue of this.details as { path?: unknown; message?: unknown }[]) {
      if (typeof issue?.path === 'string' && typeof issue.message === 'string') out[issue.path] ??= issue.message;
    }
    return out;
  }
}

export type RouteId = keyof Routes;
export type Body<K extends RouteId> = CallResult<Routes[K]>['body'];
export type Options<K extends RouteId> = Omit<CallOptions<Routes[K]>, 'token' | 'apiKey'>;

interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds when the access token stops working. */
  expiresAt: number;
  /** Its lifetime in milliseconds, as issued. */
  ttl: number;
}

/** Kept for the tab only (a reload keeps the session, closing the tab ends it); never in localStorage. */
const STORAGE_KEY = 'rewards.console.session';
/** Refresh this long before the access token expires: 30 s, or a quarter of a shorter lifetime. */
const refreshAhead = (t: Tokens) => Math.min(30_000, t.ttl / 4);

type Listener = () => void;

/**
 * The console's one way to the API: the typed client of the contracts, with the signed-in user's
 * tokens. The access token is refreshed before it expires and once more on a 401; a failed refresh
 * signs the user out.
 */
export class Session {
  private readonly client: ReturnType<typeof createClient>;
  private tokens: Tokens | null;
  private refreshing: Promise<boolean> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<Listener>();
  user: User | null = null;

  constructor(
    baseUrl = '',
    private readonly storage: Storage | undefined = globalThis.sessionStorage,
  ) {
    this.client = createClient(baseUrl);
    this.tokens = this.load();
    this.schedule();
  }

  get signedIn(): boolean {
    return this.tokens !== null;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit() {
    for (const l of this.listeners) l();
  }

  private load(): Tokens | null {
    try {
      const raw = this.storage?.getItem(STORAGE_KEY);
      const tokens = raw ? (JSON.parse(raw) as Partial<Tokens>) : null;
      return tokens?.accessToken && tokens.refreshToken && tokens.expiresAt && tokens.ttl ? (tokens as Tokens) : null;
    } catch {
      return null;
    }
  }

  private store(tokens: Tokens | null) {
    this.tokens = tokens;
    if (tokens) this.storage?.setItem(STORAGE_KEY, JSON.stringify(tokens));
    else this.storage?.removeItem(STORAGE_KEY);
    this.schedule();
  }

  private accept(t: TokenResponse) {
    const ttl = t.expiresIn * 1000;
    this.store({ accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: Date.now() + ttl, ttl });
  }

  /** Refreshes itself ahead of expiry, so a console left open stays signed in. */
  private schedule() {
    clearTimeout(this.timer);
    if (!this.tokens || typeof window === 'undefined') return;
    const wait = Math.max(1000, this.tokens.expiresAt - Date.now() - refreshAhead(this.tokens));
    this.timer = setTimeout(() => void this.refresh(), Math.min(wait, 2 ** 31 - 1));
  }

  async signIn(email: string, password: string): Promise<User> {
    const res = await this.client.call('login', { body: { email, password } });
    if (res.status !== 200) throw toError(res);
    this.accept(res.body);
    return this.loadUser();
  }

  /** Who is signed in (after sign-in, and after a reload with a session kept in the tab). */
  async loadUser(): Promise<User> {
    const body = await this.call('me');
    this.user = body.user;
    this.emit();
    return body.user;
  }

  async signOut(): Promise<void> {
    const tokens = this.tokens;
    if (tokens) await this.client.call('logout', { token: tokens.accessToken }).catch(() => undefined);
    this.end();
  }

  private end() {
    this.store(null);
    this.user = null;
    this.emit();
  }

  /** One refresh at a time; false (and signed out) when the session cannot be renewed. */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      const tokens = this.tokens;
      if (!tokens) return false;
      try {
        const res = await this.client.call('refresh', { body: { refreshToken: tokens.refreshToken } });
        if (res.status === 200) {
          this.accept(res.body);
          return true;
        }
        if (res.status === 401) this.end();
        return false;
      } catch {
        return false;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** Calls a route of the contract as the signed-in user; an error answer throws an ApiError. */
  async call<K extends RouteId>(id: K, opts: Options<K> = {} as Options<K>): Promise<Body<K>> {
    if (this.tokens && this.tokens.expiresAt - Date.now() < refreshAhead(this.tokens)) await this.refresh();
    let res = await this.client.call(id, { ...opts, token: this.tokens?.accessToken } as CallOptions<Routes[K]>);
    if (res.status === 401 && this.tokens && (await this.refresh())) {
      res = await this.client.call(id, { ...opts, token: this.tokens?.accessToken } as CallOptions<Routes[K]>);
    }
    if (res.status === 401 && this.tokens) this.end();
    if (res.status >= 400) throw toError(res);
    return res.body;
  }
}

function toError(res: { status: number; body: unknown }): ApiError {
  const error = (res.body as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  return new ApiError(res.status, error?.code ?? 'UNAVAILABLE', error?.message ?? `HTTP ${res.status}`, error?.details);
}
