import { createHmac, timingSafeEqual } from 'node:crypto';

/** A message the platform sends to a webhook: `claim.approved`, `claim.pending`, `claim.rejected`, `webhook.test`. */
export interface WebhookMessage<T = unknown> {
  type: string;
  timestamp: string;
  data: T;
}

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** How far a message's timestamp may be from now, either way: older ones are replays. */
const TOLERANCE_SECONDS = 5 * 60;

const header = (headers: Record<string, string | string[] | undefined>, name: string) => {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Verifies a webhook message as Standard Webhooks 1.0 prescribes and returns it parsed: the
 * `webhook-signature` header must hold a `v1,` signature of `<webhook-id>.<webhook-timestamp>.<body>`
 * by the endpoint's secret (`whsec_…`), and the timestamp must be within five minutes. Pass the raw
 * body exactly as received. The `webhook-id` is the same on every delivery attempt: use it to
 * ignore a message already handled.
 */
export function verifyWebhook<T = unknown>(
  secret: string,
  body: string | Buffer,
  headers: Record<string, string | string[] | undefined>,
  now: Date = new Date(),
): WebhookMessage<T> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures)
    throw new WebhookVerificationError('Missing webhook-id, webhook-timestamp or webhook-signature');
  const sentAt = Number(timestamp);
  if (!Number.isInteger(sentAt)) throw new WebhookVerificationError('Invalid webhook-timestamp');
  if (Math.abs(now.getTime() / 1000 - sentAt) > TOLERANCE_SECONDS)
    throw new WebhookVerificationError('Message timestamp too old or too new');
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
  const matches = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .some((s) => {
      const given = Buffer.from(s.slice(3), 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  if (!matches) throw new WebhookVerificationError('No matching signature');
  return JSON.parse(body.toString()) as WebhookMessage<T>;
}
