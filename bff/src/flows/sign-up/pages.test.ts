import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../http/app.ts';
import { pageAssets } from '../../http/pages.ts';
import { staticAssets } from '../../http/static-assets.ts';
import { createLogger } from '../../kernel/logger.ts';
import { parsePasswordPolicy } from '../../accounts/password-policy.ts';
import { realmFilesDirectory as realmDirectory } from '../../../../test/support/realm-files.ts';
import { readUserTypes } from '../../accounts/user-types.ts';
import { PORTAL_PATH, renderSignUpPage, signUpAssets, signUpPagesRouter } from './pages.ts';
import { continueUrl, restartTargetOf, safeReturnUrl } from './return-url.ts';

const KEYCLOAK = 'http://localhost:8080';
const ACCOUNT = `${KEYCLOAK}/realms/platform/account/`;
const POLICY = 'length(10) and maxLength(128) and notUsername and notEmail and passwordHistory(3) and notContainsUsername';

describe('safeReturnUrl (open-redirect protection)', () => {
  it('accepts URLs into the platform realm on the configured Keycloak, relative ones resolved against it', () => {
    const restart = '/realms/platform/login-actions/restart?client_id=portal&tab_id=x1&skip_logout=false';
    expect(safeReturnUrl(restart, KEYCLOAK, 'platform')).toBe(`${KEYCLOAK}${restart}`);
    expect(safeReturnUrl(`${KEYCLOAK}/realms/platform/account/`, KEYCLOAK, 'platform')).toBe(ACCOUNT);
    expect(safeReturnUrl('/realms/platform/x', 'https://id.example/auth/', 'platform')).toBeUndefined();
    expect(safeReturnUrl('/auth/realms/platform/x', 'https://id.example/auth', 'platform')).toBe('https://id.example/auth/realms/platform/x');
  });

  it.each([
    ['another site', 'https://evil.example/realms/platform/'],
    ['a protocol-relative URL', '//evil.example/realms/platform/'],
    ['backslashes', '/\\evil.example/realms/platform/'],
    ['credentials before the host', 'http://localhost:8080@evil.example/realms/platform/'],
    ['credentials on Keycloak', 'http://user:pw@localhost:8080/realms/platform/'],
    ['another port', 'http://localhost:8081/realms/platform/'],
    ['another scheme', 'https://localhost:8080/realms/platform/'],
    ['javascript:', 'javascript:alert(1)'],
    ['data:', 'data:text/html,hi'],
    ['another realm', '/realms/master/account/'],
    ['a realm with the same prefix', '/realms/platformx/account/'],
    ['dot segments out of the realm', '/realms/platform/../master/account/'],
    ['encoded dot segments', '/realms/platform/%2e%2e/master/'],
    ['the admin console', '/admin/master/console/'],
    ['an empty string', ''],
    ['a non-string', ['/realms/platform/a', '/realms/platform/b']],
    ['an overlong URL', `/realms/platform/${'a'.repeat(2100)}`],
  ])('refuses %s', (_, raw) => {
    expect(safeReturnUrl(raw, KEYCLOAK, 'platform')).toBeUndefined();
  });
});

describe('restartTargetOf and continueUrl (decision 0027)', () => {
  const realm = { keycloakUrl: KEYCLOAK, realm: 'platform' };
  it("reads Keycloak's restart URL of the realm, and nothing else", () => {
    expect(restartTargetOf('/realms/platform/login-actions/restart?client_id=portal&tab_id=Ab-1_x&client_data=eyJ4IjoxfQ', realm)).toEqual({
      clientId: 'portal',
      tabId: 'Ab-1_x',
      clientData: 'eyJ4IjoxfQ',
    });
    expect(restartTargetOf(`${KEYCLOAK}/realms/platform/login-actions/restart?client_id=portal&tab_id=t`, realm)).toEqual({ clientId: 'portal', tabId: 't' });
    for (const other of [
      ACCOUNT,
      '/realms/platform/login-actions/restart?client_id=portal',
      '/realms/platform/login-actions/restart?tab_id=t',
      '/realms/platform/login-actions/restart?client_id=portal&tab_id=a%20b',
      '/realms/master/login-actions/restart?client_id=portal&tab_id=t',
      'https://evil.example/realms/platform/login-actions/restart?client_id=portal&tab_id=t',
    ]) {
      expect(restartTargetOf(other, realm), other).toBeUndefined();
    }
  });

  it("builds Keycloak's continue URL with the ticket and the session's parameters", () => {
    const url = new URL(continueUrl(realm, 'TICKET', { clientId: 'portal', tabId: 't1', clientData: 'cd' }));
    expect(url.origin + url.pathname).toBe(`${KEYCLOAK}/realms/platform/platform-sign-up/continue`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ ticket: 'TICKET', client_id: 'portal', tab_id: 't1', client_data: 'cd' });
    expect(continueUrl({ keycloakUrl: 'https://id.example/auth/', realm: 'platform' }, 'T', { clientId: 'c', tabId: 't' })).toBe(
      'https://id.example/auth/realms/platform/platform-sign-up/continue?ticket=T&client_id=c&tab_id=t',
    );
  });
});

describe('GET /signup', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const app = createApp({
      logger: createLogger({ level: 'silent' }),
      readiness: [],
      readinessTimeoutMs: 100,
      openApi: {},
      routers: [
        signUpPagesRouter({
          keycloakUrl: KEYCLOAK,
          realm: 'platform',
          passwordPolicy: async () => parsePasswordPolicy(POLICY),
          userTypes: () => readUserTypes(realmDirectory),
        }),
      ],
      assets: staticAssets({ ...pageAssets, ...signUpAssets }),
    });
    server = createServer(app.callback()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const page = async (query = '', headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/signup${query}`, { headers });
    return { res, body: await res.text() };
  };
  const continueHref = (body: string) => /<a id="continue"[^>]* href="([^"]*)"/.exec(body)?.[1]?.replaceAll('&amp;', '&');

  it('is an HTML page with a strict CSP: no inline script, nothing from other origins, no framing', async () => {
    const { res, body } = await page();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    // The only <script> elements: the module file and a JSON data block (not executed, so CSP allows it).
    const scripts = [...body.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!.trim());
    expect(scripts).toEqual(['type="module" src="/assets/sign-up.js"', 'type="application/json" id="strings"']);
    expect(body).not.toMatch(/\son[a-z]+=|style=/);
    expect(body).not.toMatch(/(src|href)="(https?:)?\/\/(?!localhost:8080)/);
  });

  it('sends "Continue to sign in" back to a Keycloak URL of the realm, else to the portal, and nowhere else', async () => {
    const restart = '/realms/platform/login-actions/restart?client_id=portal&tab_id=x1';
    expect(continueHref((await page(`?return=${encodeURIComponent(restart)}`)).body)).toBe(`${KEYCLOAK}${restart}`);
    expect(continueHref((await page(`?return=${encodeURIComponent(ACCOUNT)}`)).body)).toBe(ACCOUNT);
    expect(continueHref((await page(`?return=${encodeURIComponent('https://evil.example/')}`)).body)).toBe(PORTAL_PATH);
    expect(continueHref((await page('')).body)).toBe(PORTAL_PATH);
    const { body } = await page(`?return=${encodeURIComponent('https://evil.example/')}`);
    expect(body).not.toContain('evil.example');
  });

  it("gives its script Keycloak's restart URL only, to finish signed in (decision 0027)", async () => {
    const strings = (body: string) => JSON.parse(/<script type="application\/json" id="strings">(.*?)<\/script>/s.exec(body)![1]!) as Record<string, unknown>;
    const restart = '/realms/platform/login-actions/restart?client_id=portal&tab_id=x1&client_data=eyJ4IjoxfQ';
    expect(strings((await page(`?return=${encodeURIComponent(restart)}`)).body).returnUrl).toBe(`${KEYCLOAK}${restart}`);
    expect(strings((await page(`?return=${encodeURIComponent(ACCOUNT)}`)).body).returnUrl).toBeUndefined();
    expect(strings((await page('')).body).returnUrl).toBeUndefined();
  });

  it("lists the realm's password rules under the password field, in the page's language", async () => {
    const en = (await page('?lang=en')).body;
    expect(en).toContain(
      '<li>at least 10 characters</li><li>at most 128 characters</li><li>not to be or contain your username</li><li>not to be your email address</li>',
    );
    expect((await page('?lang=hi')).body).toContain('<li>कम से कम 10 अक्षर</li>');
    expect(en).toMatch(/<input id="password"[^>]*aria-describedby="password-hint password-error"/);
  });

  it('speaks Hindi when asked by ?lang= or by Accept-Language, English otherwise', async () => {
    const hi = await page('?lang=hi');
    expect(hi.body).toContain('<html lang="hi"');
    expect(hi.body).toContain('अपना खाता बनाएँ');
    expect((await page('', { 'accept-language': 'hi-IN,hi;q=0.9,en;q=0.8' })).body).toContain('<html lang="hi"');
    expect((await page('', { 'accept-language': 'fr' })).body).toContain('<html lang="en"');
    expect((await page('?lang=xx', { 'accept-language': 'en' })).body).toContain('<html lang="en"');
    expect((await page('?lang=en', { 'accept-language': 'hi' })).body).toContain('Create your account');
    expect(hi.res.headers.get('vary')).toMatch(/accept-language/i);
  });

  it("asks for one of the realm's user types, labelled in the page's language, tied to its error", async () => {
    const radios = (body: string) => [...body.matchAll(/<input type="radio" id="(userType-\d+)" name="userType" value="([^"]+)"><label for="\1">([^<]+)</g)];
    const en = (await page('?lang=en')).body;
    expect(radios(en).map((m) => [m[2], m[3]])).toEqual([
      ['teacher', 'Teacher'],
      ['other', 'Other'],
    ]);
    expect(en).toMatch(/<fieldset class="field choices" id="userType" role="radiogroup" aria-required="true" aria-describedby="userType-error"/);
    expect(en).toContain('<p class="error" id="userType-error" hidden></p>');
    expect(radios((await page('?lang=hi')).body).map((m) => m[3])).toEqual(['शिक्षक', 'अन्य']);
  });

  it('leaves the choice out when the realm could not be read (the check then tells the outage)', () => {
    const body = renderSignUpPage({ lang: 'en', returnUrl: undefined, restart: undefined, policy: undefined, userTypes: [] });
    expect(body).not.toContain('id="userType"');
    expect(body).toContain('id="firstName"');
  });

  it('escapes what it echoes (the return URL)', async () => {
    const { body } = await page(`?return=${encodeURIComponent('/realms/platform/x?a="><script>alert(1)</script>')}`);
    expect(body).not.toContain('<script>alert(1)');
    expect(continueHref(body)).toBe(`${KEYCLOAK}/realms/platform/x?a=%22%3E%3Cscript%3Ealert(1)%3C/script%3E`);
  });

  it('labels every input and ties hints and errors to it', async () => {
    const { body } = await page();
    const inputs = [...body.matchAll(/<input id="([^"]+)"[^>]*>/g)];
    expect(inputs.map((m) => m[1])).toEqual(['email', 'phone', 'firstName', 'lastName', 'username', 'password', 'code']);
    for (const [tag, id] of inputs) {
      expect(body).toContain(`<label for="${id}">`);
      expect(tag).toMatch(new RegExp(`aria-describedby="[^"]*${id}-error`));
      expect(body).toContain(`<p class="error" id="${id}-error" hidden></p>`);
    }
    expect(body).toMatch(/id="alert"[^>]*role="alert"/);
  });
});

describe('/assets', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const app = createApp({
      logger: createLogger({ level: 'silent' }),
      readiness: [],
      readinessTimeoutMs: 100,
      openApi: {},
      routers: [],
      assets: staticAssets({ ...pageAssets, ...signUpAssets }),
    });
    server = createServer(app.callback()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('serves the brand tokens from the login theme itself, and the page files, revalidated by ETag', async () => {
    const res = await fetch(`${base}/assets/brand.css`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await res.text()).toBe(await readFile(new URL('../../../../themes/platform/login/resources/css/brand.css', import.meta.url), 'utf8'));
    const etag = res.headers.get('etag')!;
    expect(res.headers.get('cache-control')).toBe('no-cache');
    // node:http, not fetch: fetch adds "Cache-Control: no-cache" to conditional requests.
    const revalidated = await new Promise<number | undefined>((resolve, reject) => {
      get(`${base}/assets/brand.css`, { headers: { 'if-none-match': etag } }, (r) => {
        r.resume();
        resolve(r.statusCode);
      }).on('error', reject);
    });
    expect(revalidated).toBe(304);
    // The shared page styles, too, are the theme's file itself (the portal bundles the same one).
    expect(await (await fetch(`${base}/assets/pages.css`)).text()).toBe(
      await readFile(new URL('../../../../themes/platform/login/resources/css/pages.css', import.meta.url), 'utf8'),
    );
    for (const [name, type] of [
      ['sign-up.js', 'text/javascript'],
      ['sign-up.css', 'text/css'],
      ['logo.svg', 'image/svg+xml'],
    ]) {
      const asset = await fetch(`${base}/assets/${name}`);
      expect(asset.status, name).toBe(200);
      expect(asset.headers.get('content-type'), name).toContain(type);
    }
  });

  it('serves nothing else', async () => {
    for (const path of ['/assets/', '/assets/../package.json', '/assets/%2e%2e/package.json', '/assets/sign-up.ts', '/assets/login.css']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
    }
    expect((await fetch(`${base}/assets/brand.css`, { method: 'POST' })).status).toBe(404);
  });
});
