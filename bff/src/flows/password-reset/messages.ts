import type { Language } from '../../kernel/languages.ts';

/** The reset code's SMS, in each of the platform's languages (kernel/languages.ts). */
const SMS: Record<Language, (code: string, minutes: number) => string> = {
  en: (code, minutes) => `${code} is your Identity Platform code to reset your password. Valid ${minutes} min. Do not share it.`,
  hi: (code, minutes) => `${code} पासवर्ड रीसेट करने के लिए आपका पहचान प्लेटफ़ॉर्म कोड है। ${minutes} मिनट तक मान्य। इसे किसी से साझा न करें।`,
};

export function resetCodeSms(language: Language, code: string, minutes: number): string {
  return SMS[language](code, minutes);
}
