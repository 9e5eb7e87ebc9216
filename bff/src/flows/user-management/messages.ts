import type { Language } from '../../kernel/languages.ts';

/**
 * The mails of registration, plain text like the OTP mails, in the realm's languages (en, hi):
 * the confirmation link, and the notice to an address that already has an account (a registration
 * with it creates nothing and mails no link; decision 0019).
 */
interface Texts {
  hello(firstName: string | undefined): string;
  duration(seconds: number): string;
  confirm: { subject: string; intro: string; validity(duration: string): string };
  taken: { subject: string; intro: string; ifYou(signInUrl: string): string; ifNotYou: string };
}

const TEXTS: Record<Language, Texts> = {
  en: {
    hello: (name) => `Hello${name ? ` ${name}` : ''},`,
    duration: (s) => (s % 3600 === 0 ? (s === 3600 ? '1 hour' : `${s / 3600} hours`) : Math.round(s / 60) === 1 ? '1 minute' : `${Math.round(s / 60)} minutes`),
    confirm: {
      subject: 'Confirm your email address',
      intro: 'Please confirm the email address of your Identity Platform account by opening this link:',
      validity: (d) => `The link works once and is valid for ${d}. If you did not register, ignore this mail.`,
    },
    taken: {
      subject: 'Someone tried to create an account with your email address',
      intro:
        'Someone (maybe you) asked to create an Identity Platform account with this email address. There is already an account with it, so no new account was created and nothing about your account changed.',
      ifYou: (url) => `If it was you, sign in at ${url}. If you do not remember your password, choose "Forgot password?" on the sign-in page.`,
      ifNotYou: 'If it was not you, you can ignore this mail: nobody can use your account without your password.',
    },
  },
  hi: {
    hello: (name) => `नमस्ते${name ? ` ${name}` : ''},`,
    duration: (s) => (s % 3600 === 0 ? `${s / 3600} घंटे` : `${Math.round(s / 60)} मिनट`),
    confirm: {
      subject: 'अपने ईमेल पते की पुष्टि करें',
      intro: 'कृपया यह लिंक खोलकर अपने पहचान प्लेटफ़ॉर्म खाते के ईमेल पते की पुष्टि करें:',
      validity: (d) => `यह लिंक एक बार काम करता है और ${d} तक मान्य है। यदि आपने पंजीकरण नहीं किया है, तो इस मेल को अनदेखा करें।`,
    },
    taken: {
      subject: 'किसी ने आपके ईमेल पते से खाता बनाने की कोशिश की',
      intro:
        'किसी ने (शायद आपने) इस ईमेल पते से पहचान प्लेटफ़ॉर्म खाता बनाने का अनुरोध किया। इस पते से एक खाता पहले से है, इसलिए कोई नया खाता नहीं बना और आपके खाते में कुछ नहीं बदला।',
      ifYou: (url) => `यदि यह आप थे, तो ${url} पर साइन इन करें। यदि आपको अपना पासवर्ड याद नहीं है, तो साइन-इन पेज पर "पासवर्ड भूल गए?" चुनें।`,
      ifNotYou: 'यदि यह आप नहीं थे, तो आप इस मेल को अनदेखा कर सकते हैं: आपके पासवर्ड के बिना कोई आपके खाते का उपयोग नहीं कर सकता।',
    },
  },
};

export function confirmationMail(
  language: Language,
  to: { firstName?: string | undefined; link: string; ttlSeconds: number },
): { subject: string; text: string } {
  const t = TEXTS[language];
  return {
    subject: t.confirm.subject,
    text: [t.hello(to.firstName), '', t.confirm.intro, '', to.link, '', t.confirm.validity(t.duration(to.ttlSeconds))].join('\n'),
  };
}

export function addressTakenMail(language: Language, to: { firstName?: string | undefined; signInUrl: string }): { subject: string; text: string } {
  const t = TEXTS[language];
  return {
    subject: t.taken.subject,
    text: [t.hello(to.firstName), '', t.taken.intro, '', t.taken.ifYou(to.signInUrl), '', t.taken.ifNotYou].join('\n'),
  };
}
