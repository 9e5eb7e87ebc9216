import type { Language } from '../kernel/languages.ts';

/** The invitation's mail and SMS, in each of the platform's languages. The link is the whole credential: never logged. */
const TEXTS: Record<
  Language,
  {
    subject: (tenant: string) => string;
    body: (tenant: string, link: string, days: string) => string;
    sms: (tenant: string, link: string, days: string) => string;
  }
> = {
  en: {
    subject: (tenant) => `You are invited to join ${tenant}`,
    body: (tenant, link, days) =>
      `You are invited to join ${tenant} on the Identity Platform.\n\nOpen this link to accept: create your account, or sign in to the one you have.\n\n${link}\n\nThe link is valid for ${days} and works once. If you did not expect this invitation, ignore this message: nothing happens without the link.\n`,
    sms: (tenant, link, days) => `You are invited to join ${tenant} on the Identity Platform. Accept within ${days}: ${link}`,
  },
  hi: {
    subject: (tenant) => `आपको ${tenant} से जुड़ने का आमंत्रण है`,
    body: (tenant, link, days) =>
      `आपको पहचान प्लेटफ़ॉर्म पर ${tenant} से जुड़ने का आमंत्रण है।\n\nस्वीकार करने के लिए यह लिंक खोलें: अपना खाता बनाएँ, या अपने मौजूदा खाते में साइन इन करें।\n\n${link}\n\nयह लिंक ${days} तक मान्य है और एक ही बार काम करता है। यदि आपको इस आमंत्रण की उम्मीद नहीं थी, तो इस संदेश को अनदेखा करें: लिंक के बिना कुछ नहीं होगा।\n`,
    sms: (tenant, link, days) => `आपको पहचान प्लेटफ़ॉर्म पर ${tenant} से जुड़ने का आमंत्रण है। ${days} में स्वीकार करें: ${link}`,
  },
};

/** How long the link lasts, in words: `7 days`, `12 hours`. */
export function validity(language: Language, hours: number): string {
  const days = hours % 24 === 0 ? hours / 24 : 0;
  if (language === 'hi') return days ? `${days} दिन` : `${hours} घंटे`;
  if (days) return days === 1 ? '1 day' : `${days} days`;
  return hours === 1 ? '1 hour' : `${hours} hours`;
}

export function invitationEmail(language: Language, tenant: string, link: string, hours: number): { subject: string; text: string } {
  const t = TEXTS[language];
  return { subject: t.subject(tenant), text: t.body(tenant, link, validity(language, hours)) };
}

export function invitationSms(language: Language, tenant: string, link: string, hours: number): string {
  return TEXTS[language].sms(tenant, link, validity(language, hours));
}
