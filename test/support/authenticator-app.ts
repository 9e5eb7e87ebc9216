import { createHash, randomBytes } from 'node:crypto';
import { TOTP } from 'otpauth';
import type { Browser } from 'playwright-core';
import { expect } from 'vitest';
import type { E2EStack } from '../setup/stack.ts';
import { screenshot } from './browser.ts';
import { adminFor } from './keycloak-admin.ts';

/** An account's authenticator app, as the tests hold it: the codes it shows. */
export interface AuthenticatorApp {
  /** The code of the next 30-second window: Keycloak accepts it (look-around window 1), and it is not the one used at set-up. */
  nextCode(): string;
}

/**
 * Sets up an authenticator app for an account the way its owner does: Keycloak asks for it at the
 * next sign-in (required action CONFIGURE_TOTP), the person types the key shown under "Unable to
 * scan?" into the app and confirms with its first code. The Admin API cannot add OTP credentials.
 */
export async function setUpAuthenticatorApp(
  stack: E2EStack,
  browser: Browser,
  account: { userId: string; login: string; password: string },
  shot?: string,
): Promise<AuthenticatorApp> {
  const { userId, login, password } = account;
  const admin = adminFor(stack);
  const realm = stack.settings.platformRealm;
  await admin.put(`/${realm}/users/${userId}`, { requiredActions: ['CONFIGURE_TOTP'] });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // An authorization request (the console's own client; the console itself is not offered, decision 0031).
    const auth = new URL(`${stack.keycloakUrl}/realms/${realm}/protocol/openid-connect/auth`);
    for (const [k, v] of Object.entries({
      client_id: 'account-console',
      redirect_uri: `${stack.keycloakUrl}/realms/${realm}/account/`,
      response_type: 'code',
      scope: 'openid',
      code_challenge: createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url'),
      code_challenge_method: 'S256',
    }))
      auth.searchParams.set(k, v);
    await page.goto(auth.href);
    // Organizations make the login identifier-first: username, then password.
    await page.locator('#username').fill(login);
    await page.locator('#kc-login').click();
    await page.locator('#password').fill(password);
    await page.locator('#kc-login').click();
    await page.locator('#mode-manual').click();
    const key = (await page.locator('#kc-totp-secret-key').textContent())!.replace(/\s+/g, '');
    const totp = new TOTP({ secret: key, digits: 6, period: 30, algorithm: 'SHA1' });
    await page.locator('#totp').fill(totp.generate());
    if (shot) await screenshot(page, shot);
    await page.locator('#saveTOTPBtn, input[type="submit"]').first().click();
    await expect.poll(async () => ((await admin.get<{ type: string }[]>(`/${realm}/users/${userId}/credentials`)) ?? []).map((c) => c.type)).toContain('otp');
    return { nextCode: () => totp.generate({ timestamp: Date.now() + 30_000 }) };
  } finally {
    await context.close();
  }
}
