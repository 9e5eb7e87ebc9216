import { readFileSync } from 'node:fs';
import type { AttributeOptions } from '../../bff/src/ports/identity-directory.ts';

/** A file of realm-config/realms/platform/ as JSON. */
export const realmFile = (name: string) => JSON.parse(readFileSync(new URL(`../../realm-config/realms/platform/${name}`, import.meta.url), 'utf8'));

/** The realm's user profile and localization files as Keycloak's Admin API gives them back (GET users/profile, GET localization/{locale}). */
export const realmFilesDirectory = {
  async attributeOptions(name: string): Promise<AttributeOptions | null> {
    const attributes = realmFile('user-profile.json').attributes as { name: string; validations?: any; annotations?: any }[];
    const attribute = attributes.find((a) => a.name === name);
    const options = attribute?.validations?.options?.options;
    return Array.isArray(options) ? { options, labels: attribute?.annotations?.inputOptionLabels ?? {} } : null;
  },
  async localizationTexts(language: string): Promise<Record<string, string>> {
    return realmFile(`localization/${language}.json`);
  },
};
