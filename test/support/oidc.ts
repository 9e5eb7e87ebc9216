import { createHash, randomBytes } from 'node:crypto';
import type { Page, Request } from 'playwright-core';
import type { E2EStack } from '../setup/stack.ts';

/**
 * A browser sign-in as the demo portal would do it (authorization code + PKCE, public client):
 * `signIn` opens the authorization URL, lets `interact` drive the pages, catches the redirect back
 * to the portal (nothing needs to serve it) and exchanges the code for tokens.
 */
export interface Tokens {
  access_token: string;
  id_token: string;
  refresh_token: string;
}

export async function signIn(opts: {
  page: Page;
  keycloakUrl: string;
  realm: string;
  clientId: string;
  redirectUri: string;
  extraParams?: Record<string, string>;
  interact: (page: Page) => Promise<void>;
}): Promise<Tokens> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('hex');
  const base = `${opts.keycloakUrl}/realms/${opts.realm}/protocol/openid-connect`;
  const auth = new URL(`${base}/auth`);
  auth.search = new URLSearchParams({
    client_id: opts.clientId,
    redirect_uri: opts.redirectUri,
    response_type: 'code',
    scope: 'openid',
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...opts.extraParams,
  }).toString();

  // The redirect back is read off the request: Chromium follows a redirect chain without routing its
  // later hops, so where something listens at the redirect URI (a test BFF) that answers instead.
  let callback: URL | undefined;
  const seen = (req: Request) => {
    if (!callback && req.url().startsWith(opts.redirectUri)) callback = new URL(req.url());
  };
  opts.page.on('request', seen);
  await opts.page.route(`${opts.redirectUri}**`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<html><body>signed in</body></html>' }),
  );
  try {
    await opts.page.goto(auth.toString());
    await opts.interact(opts.page);
    await opts.page.waitForURL(`${opts.redirectUri}**`, { timeout: 30_000 });
  } finally {
    opts.page.off('request', seen);
  }
  if (!callback) throw new Error('no redirect back to the client');
  if (callback.searchParams.get('state') !== state) throw new Error('state mismatch');
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in the redirect: ${callback.searchParams.get('error') ?? 'unknown'}`);

  const res = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: opts.clientId, code, redirect_uri: opts.redirectUri, code_verifier: verifier }),
  });
  if (!res.ok) throw new Error(`token exchange failed: HTTP ${res.status}`);
  return (await res.json()) as Tokens;
}

export function decodeJwt<T = Record<string, unknown>>(jwt: string): T {
  const payload = jwt.split('.')[1];
  if (!payload) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T;
}

/** `signIn` through the e2e stack's portal client, as keycloak-js in the portal does. */
export function portalSignIn(stack: E2EStack, page: Page, interact: (page: Page) => Promise<void>, extraParams?: Record<string, string>): Promise<Tokens> {
  return signIn({
    page,
    keycloakUrl: stack.keycloakUrl,
    realm: stack.settings.platformRealm,
    clientId: 'portal',
    redirectUri: `${stack.settings.bffPublicUrl}/portal/`,
    ...(extraParams ? { extraParams } : {}),
    interact,
  });
}

/**
 * Keycloak's login page for the portal: an authorization request nobody finishes (the portal client
 * requires PKCE, so it carries a fixed challenge). `extra` adds parameters (ui_locales, kc_idp_hint).
 */
export function portalLoginUrl(stack: E2EStack, extra: Record<string, string> = {}): string {
  return (
    `${stack.keycloakUrl}/realms/${stack.settings.platformRealm}/protocol/openid-connect/auth?` +
    new URLSearchParams({
      client_id: 'portal',
      redirect_uri: `${stack.settings.bffPublicUrl}/portal/`,
      response_type: 'code',
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      ...extra,
    }).toString()
  );
}
