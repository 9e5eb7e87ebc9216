import type { Language } from '../kernel/languages.ts';
import type { OtpPurpose } from './verification-proofs.ts';

/** The texts of code messages, in each of the platform's languages (kernel/languages.ts). */

interface Texts {
  subject: string;
  body(code: string, minutes: number): string;
  sms(code: string, minutes: number): string;
  ignore: string;
}

const TEXTS: Record<Language, Record<OtpPurpose, Texts>> = {
  en: {
    'sign-up': {
      subject: 'Your sign-up code',
      body: (code, minutes) => `Your code to finish signing up is ${code}. It is valid for ${minutes} minutes.`,
      sms: (code, minutes) => `${code} is your Identity Platform sign-up code. Valid ${minutes} min. Do not share it.`,
      ignore: 'If you did not ask for it, ignore this message: nothing happens without the code.',
    },
    'change-identifier': {
      subject: 'Your verification code',
      body: (code, minutes) => `Your code to confirm this address is ${code}. It is valid for ${minutes} minutes.`,
      sms: (code, minutes) => `${code} is your Identity Platform verification code. Valid ${minutes} min. Do not share it.`,
      ignore: 'If you did not ask for it, ignore this message: nothing changes without the code.',
    },
    'state-claim': {
      subject: 'Your sign-in code',
      body: (code, minutes) => `Your code to confirm this address while signing in with your state account is ${code}. It is valid for ${minutes} minutes.`,
      sms: (code, minutes) => `${code} is your Identity Platform sign-in code. Valid ${minutes} min. Do not share it.`,
      ignore: 'If you did not ask for it, ignore this message: nothing changes without the code.',
    },
    'state-link': {
      subject: 'Your sign-in code',
      body: (code, minutes) => `Your code to sign in from your state portal is ${code}. It is valid for ${minutes} minutes.`,
      sms: (code, minutes) => `${code} is your Identity Platform sign-in code. Valid ${minutes} min. Do not share it.`,
      ignore: 'If you did not ask for it, ignore this message: nothing happens without the code.',
    },
    'state-claim-recovery': {
      subject: 'Your code to reset your password',
      body: (code, minutes) =>
        `Your code to prove this account is yours and choose a new password while signing in with your state account is ${code}. It is valid for ${minutes} minutes.`,
      sms: (code, minutes) => `${code} is your Identity Platform code to reset your password. Valid ${minutes} min. Do not share it.`,
      ignore: 'If you did not ask for it, ignore this message: your password stays as it is without the code.',
    },
  },
  hi: {
    'sign-up': {
      subject: 'आपका साइन-अप कोड',
      body: (code, minutes) => `साइन-अप पूरा करने के लिए आपका कोड ${code} है। यह ${minutes} मिनट तक मान्य है।`,
      sms: (code, minutes) => `${code} आपका पहचान प्लेटफ़ॉर्म साइन-अप कोड है। ${minutes} मिनट तक मान्य। इसे किसी से साझा न करें।`,
      ignore: 'यदि आपने इसका अनुरोध नहीं किया है, तो इस संदेश को अनदेखा करें: कोड के बिना कुछ नहीं होगा।',
    },
    'change-identifier': {
      subject: 'आपका सत्यापन कोड',
      body: (code, minutes) => `इस पते की पुष्टि के लिए आपका कोड ${code} है। यह ${minutes} मिनट तक मान्य है।`,
      sms: (code, minutes) => `${code} आपका पहचान प्लेटफ़ॉर्म सत्यापन कोड है। ${minutes} मिनट तक मान्य। इसे किसी से साझा न करें।`,
      ignore: 'यदि आपने इसका अनुरोध नहीं किया है, तो इस संदेश को अनदेखा करें: कोड के बिना कुछ नहीं बदलेगा।',
    },
    'state-claim': {
      subject: 'आपका साइन-इन कोड',
      body: (code, minutes) => `अपने राज्य खाते से साइन इन करते समय इस पते की पुष्टि के लिए आपका कोड ${code} है। यह ${minutes} मिनट तक मान्य है।`,
      sms: (code, minutes) => `${code} आपका पहचान प्लेटफ़ॉर्म साइन-इन कोड है। ${minutes} मिनट तक मान्य। इसे किसी से साझा न करें।`,
      ignore: 'यदि आपने इसका अनुरोध नहीं किया है, तो इस संदेश को अनदेखा करें: कोड के बिना कुछ नहीं बदलेगा।',
    },
    'state-link': {
      subject: 'आपका साइन-इन कोड',
      body: (code, minutes) => `अपने राज्य पोर्टल से साइन इन करने के लिए आपका कोड ${code} है। यह ${minutes} मिनट तक मान्य है।`,
      sms: (code, minutes) => `${code} आपका पहचान प्लेटफ़ॉर्म साइन-इन कोड है। ${minutes} मिनट तक मान्य। इसे किसी से साझा न करें।`,
      ignore: 'यदि आपने इसका अनुरोध नहीं किया है, तो इस संदेश को अनदेखा करें: कोड के बिना कुछ नहीं होगा।',
    },
    'state-claim-recovery': {
      subject: 'पासवर्ड रीसेट करने के लिए आपका कोड',
      body: (code, minutes) =>
        `अपने राज्य खाते से साइन इन करते समय यह साबित करने और नया पासवर्ड चुनने के लिए कि यह खाता आपका है, आपका कोड ${code} है। यह ${minutes} मिनट तक मान्य है।`,
      sms: (code, minutes) => `${code} पासवर्ड रीसेट करने के लिए आपका पहचान प्लेटफ़ॉर्म कोड है। ${minutes} मिनट तक मान्य। इसे किसी से साझा न करें।`,
      ignore: 'यदि आपने इसका अनुरोध नहीं किया है, तो इस संदेश को अनदेखा करें: कोड के बिना आपका पासवर्ड नहीं बदलेगा।',
    },
  },
};

export function codeEmail(purpose: OtpPurpose, language: Language, code: string, minutes: number): { subject: string; text: string } {
  const t = TEXTS[language][purpose];
  return { subject: t.subject, text: `${t.body(code, minutes)}\n\n${t.ignore}\n` };
}

export function codeSms(purpose: OtpPurpose, language: Language, code: string, minutes: number): string {
  return TEXTS[language][purpose].sms(code, minutes);
}
