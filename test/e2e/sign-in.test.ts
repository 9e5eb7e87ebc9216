import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { screenshot, useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt, portalSignIn } from '../support/oidc.ts';

type Json = Record<string, any>;
const stack = inject('stack');
const admin = adminFor(stack);
const realm = stack.settings.platformRealm;
const browser = useBrowser();

// A first login through the state IdP runs the BFF's claim flow (platform-state-claim, decision 0011),
// so the BFF must answer at the URL Keycloak was given.
let bff: TestBff;
beforeAll(async () => {
  bff = await startTestBff(stack, {}, { atStackUrl: true });
});
afterAll(async () => {
  await bff?.close();
});

it('a demo state user signs in through the brokered state IdP and lands in the state-demo tenant', async () => {
  const page = await browser().newPage();
  // "Sign in with your state" in the portal is keycloak-js' idpHint: Keycloak goes straight to the
  // state's IdP. (Keycloak 26.7 does not list organization-linked IdPs on the login page.)
  const tokens = await portalSignIn(
    stack,
    page,
    async (p) => {
      // The state's own login page: another realm, a real OIDC provider.
      await p.waitForURL(/\/realms\/state-demo-idp\//);
      await screenshot(p, 'broker-2-state-idp-login');
      await p.locator('#username').fill('meera.state');
      await p.locator('#password').fill(stack.settings.demoUserPassword);
      await p.locator('#kc-login').click();
    },
    { kc_idp_hint: 'state-demo' },
  );
  const id = decodeJwt(tokens.id_token);
  expect(id.iss).toBe(`${stack.keycloakUrl}/realms/${realm}`);
  expect(id.email).toBe('meera.iyer@state-demo.example');

  // Keycloak holds the brokered account: linked to the state identity, with the state's details.
  const user = (await admin.get<Json>(`/${realm}/users/${id.sub}`))!;
  expect(user).toMatchObject({ firstName: 'Meera', lastName: 'Iyer', emailVerified: true });
  expect(user.attributes).toMatchObject({ stateUserId: ['SD-000101'], phone: ['+919812300001'] });
  const links = (await admin.get<Json[]>(`/${realm}/users/${id.sub}/federated-identity`))!;
  expect(links.map((l) => l.identityProvider)).toEqual(['state-demo']);
  const orgs = (await admin.get<Json[]>(`/${realm}/organizations/members/${id.sub}/organizations`))!;
  expect(orgs.map((o) => o.alias)).toEqual(['state-demo']);
  await page.close();
});

it('a custodian member signs in with username and password on our themed pages', async () => {
  const page = await browser().newPage();
  const tokens = await portalSignIn(stack, page, async (p) => {
    // Organizations make the login identifier-first: username, then password.
    await p.locator('#username').fill('asha');
    await screenshot(p, 'password-1-username');
    await p.locator('#kc-login').click();
    await p.locator('#password').waitFor();
    await screenshot(p, 'password-2-password');
    await p.locator('#password').fill(stack.settings.demoUserPassword);
    await p.locator('#kc-login').click();
  });
  const id = decodeJwt(tokens.id_token);
  expect(id.preferred_username).toBe('asha');
  const orgs = (await admin.get<Json[]>(`/${realm}/organizations/members/${id.sub}/organizations`))!;
  expect(orgs.map((o) => o.alias)).toEqual(['custodian']);
  await page.close();
});
