import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { Agent } from 'undici';
import { guardedLookup, hostOf, isPublicAddress } from './destination.policy.js';

/** A receiver has this long to answer with a 2xx (the whole exchange). */
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
 * SEND_TIMEOUT_MS; connections are kept alive per origin. Unless private networks are allowed, a
 * connection goes only to public addresses: an IP in the URL is checked here, a name by the DNS lookup
 * the sockets use (checked at every connection, since DNS can change after the webhook was saved).
 */
export class WebhookSender {
  private readonly agent: Agent;

  constructor(
    private readonly allowPrivate: boolean,
    private readonly timeoutMs = SEND_TIMEOUT_MS,
  ) {
    this.agent = new Agent({
      keepAliveTimeout: 10_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      // Connecting counts against the deadline too (undici only aborts a request once it has a socket).
      connect: { timeout: timeoutMs, ...(allowPrivate ? {} : { lookup: guardedLookup }) },
    });
  }

  async send(target: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return { status: null, error: 'the webhook URL is invalid' };
    }
    const host = hostOf(url);
    if (!this.allowPrivate && isIP(host) && !isPublicAddress(host)) {
      return { status: null, error: `refused: ${host} is a loopback, private or link-local address` };
    }
    // An emitter, not AbortSignal.timeout: that signal cost more CPU than the rest of a send (`pnpm
    // exec` of a 20,000-send loop against a local receiver: 207 µs per send with it, 127 without).
    const abort = new EventEmitter();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.emit('abort');
    }, this.timeoutMs);
    let status: number | null = null;
    let text = '';
    try {
      const res = await this.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'rewards-webhooks/1',
        },
        body,
        signal: abort,
      });
      status = res.statusCode;
      if (status >= 200 && status < 300) {
        await res.body.dump({ limit: MAX_BODY_BYTES });
      } else {
        let bytes = 0;
        // Characters split across chunks decode whole (undici's setEncoding decodes nothing).
        const decoder = new StringDecoder('utf8');
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          if (text.length < EXCERPT_CHARS) text += decoder.write(chunk).slice(0, EXCERPT_CHARS - text.length);
          if (bytes > MAX_BODY_BYTES) {
            res.body.destroy();
            break;
          }
        }
      }
    } catch (err) {
      // A 2xx status that arrived in time delivers, even if its body is still coming.
      if (status === null) {
        const e = err as NodeJS.ErrnoException;
        const message = timedOut ? `no answer within ${this.timeoutMs / 1000} s` : e.message || e.code;
        return { status: null, error: excerpt(message || 'request failed') };
      }
    } finally {
      clearTimeout(timer);
    }
    const ok = status >= 200 && status < 300;
    return { status, error: ok ? null : excerpt(`HTTP ${status}${text ? `: ${text}` : ''}`) };
  }

  close(): void {
    void this.agent.destroy();
  }
}
