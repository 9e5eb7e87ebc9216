import { describe, expect, it } from 'vitest';
import { realmFilesDirectory as realmDirectory } from '../../../test/support/realm-files.ts';
import { readUserTypes, RealmUserTypes, userTypeIssue } from './user-types.ts';

/** `${key}`: how the realm's user profile names a message of its localization. */
const messageKey = (key: string) => `\${${key}}`;

describe("the realm's user types", () => {
  it("are the user profile's options, labelled with the realm's texts in every language (seed 002: Teacher or Other)", async () => {
    expect(await readUserTypes(realmDirectory)).toEqual([
      { value: 'teacher', label: { en: 'Teacher', hi: 'शिक्षक' } },
      { value: 'other', label: { en: 'Other', hi: 'अन्य' } },
    ]);
  });

  it("follow the realm: an option added there is offered, labelled by its text, else the BFF's word, else the value", async () => {
    const directory = {
      attributeOptions: async () => ({
        options: ['teacher', 'student', 'parent', 'other'],
        labels: { teacher: messageKey('profile.attributes.userType.teacher'), student: 'Student', parent: messageKey('no.such.key') },
      }),
      localizationTexts: async () => Promise.reject(new Error('down')),
    };
    expect(await readUserTypes(directory)).toEqual([
      { value: 'teacher', label: { en: 'Teacher', hi: 'शिक्षक' } },
      { value: 'student', label: { en: 'Student', hi: 'Student' } },
      { value: 'parent', label: { en: 'parent', hi: 'parent' } },
      { value: 'other', label: { en: 'Other', hi: 'अन्य' } },
    ]);
  });

  it('are none when the realm has no userType attribute', async () => {
    expect(await readUserTypes({ attributeOptions: async () => null, localizationTexts: async () => ({}) })).toEqual([]);
  });

  it('are read once a minute, the last list kept while Keycloak cannot be read', async () => {
    let reads = 0;
    let now = 0;
    let fail = false;
    const types = new RealmUserTypes({
      directory: {
        attributeOptions: async () => {
          reads++;
          if (fail) throw new Error('down');
          return { options: reads === 1 ? ['teacher'] : ['teacher', 'other'], labels: {} };
        },
        localizationTexts: async () => ({}),
      },
      cacheMs: 1000,
      now: () => now,
    });
    expect((await types.current()).map((o) => o.value)).toEqual(['teacher']);
    expect((await types.current()).map((o) => o.value)).toEqual(['teacher']);
    expect(reads).toBe(1);
    now = 1500;
    expect((await types.current()).map((o) => o.value)).toEqual(['teacher', 'other']);
    now = 3000;
    fail = true;
    expect((await types.current()).map((o) => o.value)).toEqual(['teacher', 'other']);
  });

  it('refuse a value that is not one of them, naming the field and the values', async () => {
    const options = await readUserTypes(realmDirectory);
    expect(userTypeIssue(options, 'teacher')).toBeUndefined();
    expect(userTypeIssue(options, 'Teacher')).toEqual({ field: 'userType', reason: 'invalid_value', message: 'One of: teacher, other' });
  });
});
