import { languageOf, type Language } from '../kernel/languages.ts';
import { safeError, type Logger } from '../kernel/logger.ts';
import type { IdentityDirectory } from '../ports/identity-directory.ts';
import type { Mailer, SmsGateway } from '../ports/messaging.ts';
import { maskIdentifier } from './identifiers.ts';

/**
 * Tells an account's previous e-mail address or phone number that it was replaced (issue 15 §3,
 * decision 0020): after a change in the portal (`PUT /api/v1/user`) and after one confirmed in
 * Keycloak's own pages (its UPDATE_EMAIL event, read by the upstream outbox's recorder). If someone
 * else made the change, the person learns it where they still can. The new value is masked: the old
 * address may no longer be the person's.
 */
export interface IdentifierChange {
  kind: 'email' | 'phone';
  /** The value the account had; the notice goes there. */
  previous: string;
  /** The value it has now; null when removed. */
  current: string | null;
}

/** The account, for the salutation and the language (its `locale`, else English). */
export interface NoticeRecipient {
  userId: string;
  firstName?: string | undefined;
  locale?: string | undefined;
}

interface Texts {
  hello(firstName: string | undefined): string;
  emailSubject: string;
  emailChanged(masked: string): string;
  ifYou: string;
  ifNotYou: string;
  smsChanged(masked: string): string;
  smsRemoved: string;
}

const TEXTS: Record<Language, Texts> = {
  en: {
    hello: (name) => `Hello${name ? ` ${name}` : ''},`,
    emailSubject: 'The email address of your account was changed',
    emailChanged: (masked) =>
      `The email address of your Identity Platform account was changed from this address to ${masked}. Sign-in and account recovery messages now go to the new address.`,
    ifYou: 'If you made this change, there is nothing to do.',
    ifNotYou: 'If you did not, contact support at once: someone else may have access to your account.',
    smsChanged: (masked) => `The mobile number of your Identity Platform account was changed to ${masked}. Not you? Contact support at once.`,
    smsRemoved: 'This mobile number was removed from your Identity Platform account. Not you? Contact support at once.',
  },
  hi: {
    hello: (name) => `नमस्ते${name ? ` ${name}` : ''},`,
    emailSubject: 'आपके खाते का ईमेल पता बदला गया',
    emailChanged: (masked) => `आपके पहचान प्लेटफ़ॉर्म खाते का ईमेल पता इस पते से बदलकर ${masked} कर दिया गया है। साइन-इन और खाता रिकवरी के संदेश अब नए पते पर जाएँगे।`,
    ifYou: 'यदि यह बदलाव आपने किया है, तो कुछ करने की ज़रूरत नहीं है।',
    ifNotYou: 'यदि नहीं, तो तुरंत सहायता से संपर्क करें: हो सकता है किसी और के पास आपके खाते की पहुँच हो।',
    smsChanged: (masked) => `आपके पहचान प्लेटफ़ॉर्म खाते का मोबाइल नंबर बदलकर ${masked} कर दिया गया है। आपने नहीं किया? तुरंत सहायता से संपर्क करें।`,
    smsRemoved: 'यह मोबाइल नंबर आपके पहचान प्लेटफ़ॉर्म खाते से हटा दिया गया है। आपने नहीं किया? तुरंत सहायता से संपर्क करें।',
  },
};

export function identifierChangeMessage(language: Language, firstName: string | undefined, change: IdentifierChange): { subject: string; text: string } {
  const t = TEXTS[language];
  if (change.kind === 'phone')
    return { subject: '', text: change.current === null ? t.smsRemoved : t.smsChanged(maskIdentifier({ kind: 'phone', value: change.current })) };
  const masked = change.current === null ? '' : maskIdentifier({ kind: 'email', value: change.current });
  return { subject: t.emailSubject, text: [t.hello(firstName), '', t.emailChanged(masked), '', t.ifYou, t.ifNotYou, ''].join('\n') };
}

export class IdentifierChangeNotices {
  readonly #mailer: Mailer;
  readonly #sms: SmsGateway;
  readonly #directory: Pick<IdentityDirectory, 'getUser'>;
  readonly #logger: Logger;

  constructor(deps: { mailer: Mailer; sms: SmsGateway; directory: Pick<IdentityDirectory, 'getUser'>; logger: Logger }) {
    this.#mailer = deps.mailer;
    this.#sms = deps.sms;
    this.#directory = deps.directory;
    this.#logger = deps.logger;
  }

  /**
   * Sends the notice to `change.previous`. Never throws: the change is made and stays made; a notice
   * that could not be sent is logged as an error (ids only) for support to follow up.
   */
  async tell(recipient: NoticeRecipient, change: IdentifierChange): Promise<void> {
    if (change.previous === change.current) return;
    const language = languageOf(recipient.locale);
    const message = identifierChangeMessage(language, recipient.firstName, change);
    try {
      if (change.kind === 'email') await this.#mailer.send({ to: change.previous, subject: message.subject, text: message.text, language });
      else await this.#sms.send({ to: change.previous, text: message.text });
      this.#logger.info({ event: 'identifier_change.notice_sent', userId: recipient.userId, kind: change.kind }, 'previous identifier told of the change');
    } catch (err) {
      this.#logger.error({ err: safeError(err), userId: recipient.userId, kind: change.kind }, 'identifier change: the previous address could not be told');
    }
  }

  /** An e-mail change confirmed in Keycloak's own pages (its UPDATE_EMAIL event): the account is read for its name and language. */
  async emailChangedInKeycloak(change: { userId: string; previous: string; updated: string }): Promise<void> {
    const user = await this.#directory.getUser(change.userId).catch(() => null);
    await this.tell(
      { userId: change.userId, firstName: user?.firstName, locale: user?.attributes.locale?.[0] },
      { kind: 'email', previous: change.previous, current: change.updated },
    );
  }
}
