import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError } from '../src/webhooks.js';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const body = JSON.stringify({
  type: 'claim.approved',
  timestamp: '2026-12-01T12:00:00.000Z',
  data: { claim: { id: 'c-1' } },
});

/** Signed by the official Standard Webhooks library, verified by the SDK (and the other way round). */
function signed(at = new Date(), id = `msg_${randomBytes(8).toString('hex')}`) {
  const signature = new Webhook(secret).sign(id, at, body);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}

describe('verifyWebhook', () => {
  it('accepts what the official library signs and returns the parsed message', () => {
    expect(verifyWebhook(secret, body, signed())).toEqual(JSON.parse(body));
    expect(verifyWebhook(secret, Buffer.from(body), signed())).toEqual(JSON.parse(body));
  });

  it('accepts a message carrying signatures by an old and a new secret (rotation)', () => {
    const headers = signed();
    const other = new Webhook(`whsec_${randomBytes(24).toString('base64')}`).sign(
      headers['webhook-id'],
      new Date(),
      body,
    );
    expect(
      verifyWebhook(secret, body, { ...headers, 'webhook-signature': `${other} ${headers['webhook-signature']}` }),
    ).toEqual(JSON.parse(body));
  });

  it('refuses a changed body, another secret, a replayed id, an old timestamp and missing headers', () => {
    const headers = signed();
    const fails = (fn: () => unknown) => expect(fn).toThrow(WebhookVerificationError);
    fails(() => verifyWebhook(secret, body.replace('c-1', 'c-2'), headers));
    fails(() => verifyWebhook(`whsec_${randomBytes(24).toString('base64')}`, body, headers));
    fails(() => verifyWebhook(secret, body, { ...headers, 'webhook-id': 'msg_other' }));
    fails(() => verifyWebhook(secret, body, signed(new Date(Date.now() - 10 * 60_000))));
    fails(() => verifyWebhook(secret, body, { 'webhook-id': headers['webhook-id'] }));
  });

  it('what it accepts, the official verifier accepts too', () => {
    const headers = signed();
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
    expect(verifyWebhook(secret, body, headers).type).toBe('claim.approved');
  });
});
