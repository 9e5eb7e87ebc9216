import nodemailer, { type Transporter } from 'nodemailer';
import { DomainError } from '../../kernel/errors.ts';
import type { EmailMessage, Mailer } from '../../ports/messaging.ts';

export interface SmtpMailerOptions {
  host: string;
  port: number;
  from: string;
  /** Empty or absent: no SMTP authentication (the dev inbox). */
  user?: string;
  password?: string;
  /** Connection, greeting and socket timeouts (ms): a dead server fails the request, it does not hang it. Default 5000. */
  timeoutMs?: number;
}

/**
 * Mailer over SMTP (nodemailer). STARTTLS is used when the server offers it. Any failure is
 * DELIVERY_FAILED; the message never names the recipient or the content (an OTP may be in it).
 */
export class SmtpMailer implements Mailer {
  readonly #transport: Transporter;
  readonly #from: string;

  constructor(options: SmtpMailerOptions) {
    const timeout = options.timeoutMs ?? 5_000;
    this.#from = options.from;
    this.#transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.port === 465,
      ...(options.user ? { auth: { user: options.user, pass: options.password ?? '' } } : {}),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout * 2,
      logger: false,
      debug: false,
    });
  }

  async send(message: EmailMessage): Promise<void> {
    try {
      await this.#transport.sendMail({
        from: this.#from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html ? { html: message.html } : {}),
        ...(message.language ? { headers: { 'Content-Language': message.language } } : {}),
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new DomainError('DELIVERY_FAILED', 'The email could not be sent', {
        details: { channel: 'email', ...(typeof code === 'string' ? { reason: code } : {}) },
        cause: err,
      });
    }
  }

  close(): void {
    this.#transport.close();
  }
}
