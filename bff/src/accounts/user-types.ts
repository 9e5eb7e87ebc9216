import { CachedRead } from '../kernel/cached-read.ts';
import type { FieldIssue } from '../kernel/errors.ts';
import { LANGUAGES, type Language } from '../kernel/languages.ts';
import type { IdentityDirectory } from '../ports/identity-directory.ts';

/**
 * The user types a person can be (seed 002: Teacher or Other), as the realm's user profile lists them
 * (`userType` in realm-config/realms/platform/user-profile.json, its `options` validation), so a realm
 * adds one by adding an option and its label there, without a BFF change (decision 0036). The pages
 * show each with the realm's label (`inputOptionLabels`, `${key}` looked up in the realm's
 * localization texts); when those cannot be read, the BFF's own words for the values it knows; else
 * the value itself.
 */
export const USER_TYPE_ATTRIBUTE = 'userType';

export interface UserTypeOption {
  value: string;
  label: Record<Language, string>;
}

/** The BFF's words for the seed's values, when the realm's texts cannot be read. */
const KNOWN_LABELS: Record<Language, Record<string, string>> = {
  en: { teacher: 'Teacher', other: 'Other' },
  hi: { teacher: 'शिक्षक', other: 'अन्य' },
};

const MESSAGE_KEY = /^\$\{(.+)\}$/;

/** The realm's options with their labels in every language of ours. */
export async function readUserTypes(directory: Pick<IdentityDirectory, 'attributeOptions' | 'localizationTexts'>): Promise<UserTypeOption[]> {
  const attribute = await directory.attributeOptions(USER_TYPE_ATTRIBUTE);
  if (!attribute) return [];
  const keyed = Object.values(attribute.labels).some((l) => MESSAGE_KEY.test(l));
  // The realm's texts are a nicety: without them the BFF's own words (or the value) still name each option.
  const texts = keyed
    ? await Promise.all(LANGUAGES.map((l) => directory.localizationTexts(l).catch(() => ({}) as Record<string, string>)))
    : LANGUAGES.map(() => ({}) as Record<string, string>);
  return attribute.options.map((value) => {
    const label = {} as Record<Language, string>;
    LANGUAGES.forEach((language, i) => {
      const raw = attribute.labels[value];
      const key = raw?.match(MESSAGE_KEY)?.[1];
      label[language] = (key ? texts[i]?.[key] : raw) ?? KNOWN_LABELS[language][value] ?? value;
    });
    return { value, label };
  });
}

/** The realm's user types, read through the Admin API and kept a minute (kernel/cached-read.ts). */
export class RealmUserTypes extends CachedRead<UserTypeOption[]> {
  constructor(deps: { directory: Pick<IdentityDirectory, 'attributeOptions' | 'localizationTexts'>; cacheMs?: number; now?: () => number }) {
    super({ ...deps, read: () => readUserTypes(deps.directory) });
  }
}

/** `value` is not one of `options`: the issue naming `field` (the values listed, for API callers). */
export function userTypeIssue(options: readonly UserTypeOption[], value: string, field = USER_TYPE_ATTRIBUTE): FieldIssue | undefined {
  if (options.some((o) => o.value === value)) return undefined;
  return { field, reason: 'invalid_value', message: `One of: ${options.map((o) => o.value).join(', ')}` };
}
