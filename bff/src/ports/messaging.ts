/**
 * Outgoing messages to people: email through SMTP, SMS through an HTTP gateway. Adapters throw
 * DomainError DELIVERY_FAILED (the provider refused or did not answer) so callers can undo what the
 * message was for (an OTP must not stay usable when nobody received it).
 */
export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** BCP 47 tag of the language the message is written in, e.g. `en`, `hi`. */
  language?: string;
}

export interface Mailer {
  send(message: EmailMessage): Promise<void>;
}

export interface SmsMessage {
  /** E.164. */
  to: string;
  text: string;
}

export interface SmsGateway {
  send(message: SmsMessage): Promise<void>;
}
