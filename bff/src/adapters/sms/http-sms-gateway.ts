import { DomainError } from '../../kernel/errors.ts';
import type { SmsGateway, SmsMessage } from '../../ports/messaging.ts';

export interface HttpSmsGatewayOptions {
  /** Receives `POST {to, text}` as JSON and answers 2xx when it accepted the message. */
  url: string;
  /** Sent as `Authorization: Bearer <token>` when not empty. */
  token?: string;
  /** Whole request, body included. Default 5000. */
  timeoutMs?: number;
  /** Injectable for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/**
 * SmsGateway over a plain HTTP gateway: the shape most SMS providers (or a small relay in front of
 * one) accept. Not retried: a provider that timed out may still deliver, and two codes in a row would
 * confuse people; the caller reports DELIVERY_FAILED and the person asks again.
 */
export class HttpSmsGateway implements SmsGateway {
  readonly #url: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: HttpSmsGatewayOptions) {
    this.#url = options.url;
    this.#token = options.token || undefined;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  async send(message: SmsMessage): Promise<void> {
    let status: number;
    try {
      const res = await this.#fetch(this.#url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
        },
        body: JSON.stringify({ to: message.to, text: message.text }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = res.status;
      await res.body?.cancel();
    } catch (err) {
      throw failed(err instanceof DOMException && err.name === 'TimeoutError' ? 'timeout' : 'network error', err);
    }
    if (status < 200 || status >= 300) throw failed(`status ${status}`);
  }
}

/** Names what went wrong, never the number or the text (an OTP is in it). */
function failed(reason: string, cause?: unknown): DomainError {
  return new DomainError('DELIVERY_FAILED', 'The SMS could not be sent', { details: { channel: 'sms', reason }, ...(cause === undefined ? {} : { cause }) });
}
