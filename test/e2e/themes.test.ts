import { describe, expect, inject, it } from 'vitest';
import { screenshot, useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { portalLoginUrl } from '../support/oidc.ts';

const stack = inject('stack');
const realm = stack.settings.platformRealm;
const browser = useBrowser();

const loginUrl = (locale: string) => portalLoginUrl(stack, { ui_locales: locale });

describe('login theme', () => {
  for (const [locale, title, button, product] of [
    ['en', 'Sign in to your account', 'Sign in', 'Identity Platform'],
    ['hi', 'अपने खाते में साइन इन करें', 'साइन इन करें', 'पहचान प्लेटफ़ॉर्म'],
  ] as const) {
    it(`renders our branded login page in ${locale}`, async () => {
      for (const [viewport, suffix] of [
        [{ width: 1280, height: 800 }, ''],
        [{ width: 390, height: 844 }, '-phone'],
      ] as const) {
        const page = await browser().newPage({ viewport });
        const res = await page.goto(loginUrl(locale));
        expect(res?.status()).toBe(200);
        expect(await page.locator('html').getAttribute('lang')).toBe(locale);
        await expect.poll(() => page.locator('h1#kc-page-title').innerText()).toContain(title);
        expect(
          await page
            .locator('#kc-login')
            .inputValue()
            .catch(() => page.locator('#kc-login').innerText()),
        ).toContain(button);
        // Our stylesheets and logo are served from the platform theme, not the parent's.
        const styles = await page.locator('link[rel=stylesheet]').evaluateAll((ls) => ls.map((l) => (l as HTMLLinkElement).href));
        expect(styles.some((h) => /\/resources\/[^/]+\/login\/platform\/css\/brand\.css$/.test(h))).toBe(true);
        expect(await page.getByText(product).first().isVisible()).toBe(true);
        // The Google (demo) broker is offered on the page.
        await expect.poll(() => page.locator('#social-google-demo').count()).toBe(1);
        await screenshot(page, `login-${locale}${suffix}`);
        await page.close();
      }
    });
  }
});

describe('email theme and SMTP', () => {
  it("Keycloak's mail reaches the dev inbox over SMTP, in our branded template", async () => {
    const admin = adminFor(stack);
    const [asha] = (await admin.get<{ id: string; email: string }[]>(`/${realm}/users?username=asha&exact=true`))!;
    await admin.put(`/${realm}/users/${asha!.id}/execute-actions-email?lifespan=600`, ['UPDATE_PASSWORD']);
    type Mail = { subject: string; html: string; text: string; to: string[] };
    let mail: Mail | undefined;
    await expect
      .poll(
        async () => {
          const mails = (await (await fetch(`${stack.inboxUrl}/api/mails?to=${encodeURIComponent(asha!.email)}`)).json()) as Mail[];
          mail = mails.find((m) => m.subject.includes('Identity Platform'));
          return Boolean(mail);
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    expect(mail!.subject).toBe('Update your Identity Platform account');
    expect(mail!.html).toContain('Identity Platform');
    expect(mail!.html).toContain('Update my account');
    expect(mail!.text).toMatch(/login-actions\/action-token\?key=/);
  });
});
