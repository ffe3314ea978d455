import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, hostOf, isPublicAddress } from './destination.policy.js';

/** A receiver has this long to answer with a 2xx. */
export const SEND_TIMEOUT_MS = 10_000;
/** What is kept of an answer or an error. */
export const EXCERPT_CHARS = 500;
/** Past this much of a body, the rest is not read (the connection is dropped). */
const MAX_BODY_BYTES = 64 * 1024;

export interface SendResult {
  /** The HTTP status, or null when none came (refused, unreachable, timed out). */
  status: number | null;
  /** What went wrong, at most EXCERPT_CHARS: the error, or the status and the start of the answer's body. */
  error: string | null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Text PostgreSQL can store (no NUL, no lone surrogate), at most EXCERPT_CHARS long. */
const excerpt = (text: string) =>
  text.slice(0, EXCERPT_CHARS).replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');

/**
 * POSTs webhook messages. Redirects are not followed (an answer is an answer); the whole exchange has
 * SEND_TIMEOUT_MS; connections are kept alive per host. Unless private networks are allowed, a
 * connection goes only to public addresses: an IP in the URL is checked here, a name by the DNS lookup
 * the sockets use (checked at every connection, since DNS can change after the webhook was saved).
 */
export class WebhookSender {
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000 }),
    'https:': new https.Agent({ keepAlive: true, keepAliveMsecs: 10_000 }),
  };

  constructor(private readonly allowPrivate: boolean) {}

  send(target: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    return new Promise<SendResult>((resolve) => {
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        resolve({ status: null, error: 'the webhook URL is invalid' });
        return;
      }
      const protocol = url.protocol as 'http:' | 'https:';
      const host = hostOf(url);
      if (!this.allowPrivate && isIP(host) && !isPublicAddress(host)) {
        resolve({ status: null, error: `refused: ${host} is a loopback, private or link-local address` });
        return;
      }
      let status: number | null = null;
      let text = '';
      let settled = false;
      const finish = (error: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const ok = status !== null && status >= 200 && status < 300;
        resolve({ status, error: ok ? null : excerpt(error ?? `HTTP ${status}${text ? `: ${text}` : ''}`) });
      };
      const request = (protocol === 'https:' ? https : http).request(url, {
        method: 'POST',
        agent: this.agents[protocol],
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'rewards-webhooks/1',
        },
        ...(this.allowPrivate ? {} : { lookup: guardedLookup }),
      });
      const timer = setTimeout(() => {
        // A 2xx status that arrived in time delivers, even if its body is still coming.
        finish(status === null ? `no answer within ${SEND_TIMEOUT_MS / 1000} s` : null);
        request.destroy();
      }, SEND_TIMEOUT_MS);
      request.on('response', (res) => {
        status = res.statusCode ?? null;
        let bytes = 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          bytes += Buffer.byteLength(chunk);
          if (text.length < EXCERPT_CHARS) text += chunk.slice(0, EXCERPT_CHARS - text.length);
          if (bytes > MAX_BODY_BYTES) {
            finish(null);
            res.destroy();
          }
        });
        res.on('end', () => finish(null));
        res.on('error', () => finish(null));
        res.on('close', () => finish(null));
      });
      request.on('error', (err: NodeJS.ErrnoException) => finish(err.message || err.code || 'request failed'));
      request.end(body);
    });
  }

  close(): void {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }
}
