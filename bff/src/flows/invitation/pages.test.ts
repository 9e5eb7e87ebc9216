import { describe, expect, it } from 'vitest';
import { invitationEmail, invitationSms, validity } from '../../invitations/messages.ts';
import type { InvitationLink } from '../../invitations/invitations.ts';
import { LANGUAGES } from '../../kernel/languages.ts';
import { type FormError, renderDead, renderDone, renderInvitation, renderNewAccount } from './pages.ts';

const link: InvitationLink = {
  id: '00000000-0000-4000-8000-000000000000',
  tenant: 'state-demo',
  tenantNames: { en: 'State of Demo', hi: 'डेमो राज्य' },
  kind: 'email',
  identifier: 'asha@example.org',
  masked: 'a•••@example.org',
  firstName: 'Asha',
  lastName: null,
  userId: null,
  locale: 'en',
};
const token = 'T'.repeat(43);
const errors: FormError[] = ['password', 'username', 'username-taken', 'name', 'account-exists', 'busy', 'rate-limited', 'unavailable'];

/** Latin words a person reads on a page, minus values (with @ . digits) and the language picker's "English". */
function latinWords(page: string): string[] {
  const text = page
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&[a-z#0-9]+;/g, ' ');
  return text
    .split(/\s+/)
    .filter((t) => !/[0-9@_.]/.test(t.replace(/[.,:;!?)]+$/, '')))
    .flatMap((t) => t.match(/[A-Za-z]{3,}/g) ?? [])
    .filter((w) => w !== 'English');
}

describe('invitation pages', () => {
  const pages = (lang: (typeof LANGUAGES)[number]) => [
    renderInvitation(link, token, lang),
    ...errors.map((e) => renderNewAccount(link, token, lang, e)),
    renderDone(link, token, lang),
    ...(['unknown', 'expired', 'revoked', 'used'] as const).map((p) => renderDead(p, lang)),
  ];

  it('Hindi pages have no English words, and name the tenant in Hindi', () => {
    for (const page of pages('hi')) expect(latinWords(page)).toEqual([]);
    expect(renderInvitation(link, token, 'hi')).toContain('डेमो राज्य');
  });

  it('every form error has its message, in both languages; the typed names are escaped', () => {
    for (const lang of LANGUAGES) for (const e of errors) expect(renderNewAccount(link, token, lang, e)).toMatch(new RegExp(`data-error="${e}">[^<]+<`));
    expect(renderNewAccount({ ...link, firstName: '"><script>' }, token, 'en')).not.toContain('"><script>');
  });

  it('"I already have an account" leads to the portal with the token in the fragment only', () => {
    for (const lang of LANGUAGES) {
      for (const page of [renderInvitation(link, token, lang), renderNewAccount(link, token, lang)]) {
        expect(page).toContain(`id="existing" href="/portal/?lang=${lang}#invitation=${token}"`);
      }
    }
  });

  it('unknown and expired links show the same page', () => {
    for (const lang of LANGUAGES) expect(renderDead('expired', lang)).toBe(renderDead('unknown', lang));
  });
});

describe('invitation messages', () => {
  it('say how long the link lasts and carry the link, in English and Hindi', () => {
    expect(validity('en', 168)).toBe('7 days');
    expect(validity('en', 1)).toBe('1 hour');
    expect(validity('hi', 48)).toBe('2 दिन');
    expect(invitationEmail('en', 'State of Demo', 'http://x/invitations/abc', 168)).toMatchObject({
      subject: 'You are invited to join State of Demo',
      text: expect.stringContaining('http://x/invitations/abc'),
    });
    expect(invitationSms('hi', 'डेमो राज्य', 'http://x/i', 24)).toContain('1 दिन');
  });
});
