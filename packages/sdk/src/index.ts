import {
  createClient,
  type ActivityInput,
  type CallOptions,
  type CallResult,
  type Claim,
  type ErrorBody,
  type EventDetail,
  type Grant,
  type Progress,
  type Routes,
  type TokenResponse,
} from '@rewards/contracts';

/** An answer that was not a success: the platform's error code, message and request id. */
export class RewardsApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | undefined,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'RewardsApiError';
  }
}

export interface RewardsClientOptions {
  /** Where the gateway is, e.g. `https://rewards.example.com` (without `/api/v1`). */
  baseUrl: string;
  /** An access token, for calls as a signed-in user (`signIn` sets it). */
  token?: string;
  /** A game server's API key (`X-Api-Key`), for posting activities. */
  apiKey?: string;
}

/**
 * The platform's API for game servers and tools. Every method sends one request and returns its
 * body, or throws a `RewardsApiError` carrying the error code (`ALREADY_CLAIMED`, …).
 */
export class RewardsClient {
  private readonly client: ReturnType<typeof createClient>;
  private token: string | undefined;
  private readonly apiKey: string | undefined;

  constructor(opts: RewardsClientOptions) {
    this.client = createClient(opts.baseUrl.replace(/\/+$/, ''));
    this.token = opts.token;
    this.apiKey = opts.apiKey;
  }

  private async send<K extends keyof Routes>(
    id: K,
    opts: CallOptions<Routes[K]>,
    expected: number,
  ): Promise<CallResult<Routes[K]>['body']> {
    const res = await this.client.call(id, opts);
    if (res.status === expected) return res.body;
    const body = res.body as unknown as ErrorBody | undefined;
    const error = body?.error;
    throw new RewardsApiError(
      res.status,
      error?.code ?? 'UNKNOWN',
      error?.message ?? `HTTP ${res.status}`,
      body?.requestId,
      error?.details,
    );
  }

  /** Signs in; later calls of this client are made as that user. */
  async signIn(email: string, password: string): Promise<TokenResponse> {
    const tokens = await this.send('login', { body: { email, password } }, 200);
    this.token = tokens.accessToken;
    return tokens;
  }

  /** Trades a refresh token for new tokens (the old refresh token is spent). */
  async refresh(refreshToken: string): Promise<TokenResponse> {
    const tokens = await this.send('refresh', { body: { refreshToken } }, 200);
    this.token = tokens.accessToken;
    return tokens;
  }

  /** Posts facts (1–1000) with the API key: resending a fact's id is counted as a duplicate, not an error. */
  async ingestActivities(activities: ActivityInput[]): Promise<{ accepted: number; duplicates: number }> {
    return this.send(
      'ingestActivities',
      { apiKey: this.apiKey, token: this.apiKey ? undefined : this.token, body: { activities } },
      202,
    );
  }

  /**
   * One page of the grants feed (an API key with scope `grants:read`, or an ADMIN/AUDITOR token).
   * Keep `nextCursor` and pass it back as `after`: every grant arrives exactly once, in commit order.
   */
  async grantsFeed(
    opts: { after?: string; limit?: number; userId?: string } = {},
  ): Promise<{ items: Grant[]; nextCursor: string }> {
    const query = { after: opts.after, limit: opts.limit, userId: opts.userId };
    return this.send('grantsFeed', { apiKey: this.apiKey, token: this.apiKey ? undefined : this.token, query }, 200);
  }

  async event(eventId: string): Promise<EventDetail> {
    return (await this.send('getEvent', { token: this.token, params: { id: eventId } }, 200)).event;
  }

  /** The signed-in player's progress towards an event's condition. */
  async progress(eventId: string): Promise<Progress> {
    return this.send('progress', { token: this.token, params: { id: eventId } }, 200);
  }

  /**
   * Claims an event's rewards as the signed-in player. Every attempt is recorded: a claim whose
   * condition is not met comes back REJECTED with its reason. Pass an idempotency key to retry
   * safely: the same key returns the first answer.
   */
  async claim(eventId: string, opts: { idempotencyKey?: string } = {}): Promise<Claim> {
    const headers = opts.idempotencyKey ? { 'Idempotency-Key': opts.idempotencyKey } : undefined;
    return (await this.send('createClaim', { token: this.token, params: { id: eventId }, headers }, 201)).claim;
  }
}

export { verifyWebhook, WebhookVerificationError, type WebhookMessage } from './webhooks.js';
