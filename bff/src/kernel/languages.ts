/**
 * The platform's languages: the login theme's locales (realm-config: `supportedLocales`), in the order
 * the pages' language pickers list them. Every text table of the BFF (pages, mails, SMS) is a
 * `Record<Language, ...>`, so a language added here does not compile until each table has it.
 */
export const LANGUAGES = ['en', 'hi'] as const;
export type Language = (typeof LANGUAGES)[number];

/** What a person gets when nothing they sent names one of ours. */
export const DEFAULT_LANGUAGE: Language = 'en';

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/** A stored or asked-for language tag (an account's `locale`, a request's choice) as ours, else the default. */
export function languageOf(tag: unknown): Language {
  return isLanguage(tag) ? tag : DEFAULT_LANGUAGE;
}
