import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_PARTNER } from '../../stack/partner-demo/demo-partner.ts';
import { startPartnerDemo, type RunningPartnerDemo } from '../../stack/partner-demo/server.ts';
import { bffEnv } from '../../stack/stack.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { screenshot, useBrowser } from '../support/browser.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { call, platformAdminToken, uniqueId } from '../support/partners.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Who may frame the partner super component (issue 14 §4): each partner's registered frame origins,
 * managed through the admin API and `npm run partner`, become the component page's
 * `Content-Security-Policy: frame-ancestors`; every other BFF response may be framed by nobody and
 * carries the usual security headers. In Chromium: the demo bank (a registered origin) embeds the
 * component; a page on another origin that frames the very same URL gets nothing.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const kcAdmin = adminFor(stack);
const browser = useBrowser();
const keys = testKeyPrefix(uniqueId('frame-origins'));
const execFileAsync = promisify(execFile);
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

let bff: TestBff;
let adminToken: string;
let demo: RunningPartnerDemo;
let demoOrigin: string;
/** "Another site": any page on an origin no partner registered, framing whatever `?src=` names. */
let other: { url: string; server: Server };

beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix });
  adminToken = await platformAdminToken(stack);
  await bff.container.partnerAdmin.registerIfAbsent({
    clientId: DEMO_PARTNER.clientId,
    name: DEMO_PARTNER.name,
    trustAuth: DEMO_PARTNER.trustAuth,
    appKeys: DEMO_PARTNER.appKeys.map((k) => ({ ...k })),
  });
  demo = await startPartnerDemo({
    port: 0,
    bffPublicUrl: bff.url,
    keycloakUrl: stack.keycloakUrl,
    realm,
    clientSecret: stack.settings.demoPartnerClientSecret,
  });
  demoOrigin = new URL(demo.url).origin;
  // Added for this run and removed after it: other files use the demo partner too.
  await bff.container.partnerAdmin.addFrameOrigins(DEMO_PARTNER.clientId, [demoOrigin]);

  const server = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://x').searchParams.get('src') ?? '';
    const attr = src.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!DOCTYPE html><title>Another site</title><h1>Another site</h1><iframe id="embed" src="${attr}" width="600" height="500"></iframe>`);
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  other = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
});

afterAll(async () => {
  if (demo) await bff?.container.partnerAdmin.removeFrameOrigins(DEMO_PARTNER.clientId, [demoOrigin]);
  await demo?.close();
  other?.server.close();
  await bff?.close();
  await keys.cleanup();
});

const api = (p = '') => `${bff.url}/api/admin/v1/partners${p}`;
const kcClientExists = async (clientId: string) => ((await kcAdmin.get<Json[]>(`/${realm}/clients?clientId=${clientId}`)) ?? []).length > 0;
const storedOrigins = async (clientId: string) =>
  (
    await bff.container.orm.em
      .getConnection()
      .execute<{ frame_origins: string[] }[]>('select frame_origins from partner_client where client_id = ?', [clientId])
  )[0]?.frame_origins;
const fieldsOf = (body: Json) => (body.fields as Json[]).map((f) => `${f.field}:${f.reason}`).sort();
const componentCsp = async (partner: string) =>
  (await fetch(`${bff.url}/portal/super-component.html?partner=${encodeURIComponent(partner)}`)).headers.get('content-security-policy') ?? '';

describe('frame origins through the admin API', () => {
  it('are registered with the partner, normalised, and become the frame-ancestors of its component at once', async () => {
    const clientId = uniqueId('frame-bank');
    const res = await call(api(), 'POST', {
      token: adminToken,
      body: {
        clientId,
        name: 'Frame Bank',
        trustAuth: false,
        appKeys: [],
        frameOrigins: ['HTTPS://Web.Frame-Bank.example/', 'https://web.frame-bank.example:443', 'http://localhost:4100'],
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.frameOrigins).toEqual(['https://web.frame-bank.example', 'http://localhost:4100']);
    expect((await call(api(`/${clientId}`), 'GET', { token: adminToken })).body.frameOrigins).toEqual([
      'https://web.frame-bank.example',
      'http://localhost:4100',
    ]);
    expect(await storedOrigins(clientId)).toEqual(['https://web.frame-bank.example', 'http://localhost:4100']);
    expect(await componentCsp(clientId)).toContain('frame-ancestors https://web.frame-bank.example http://localhost:4100;');

    // PATCH replaces the list; the page follows at once (no cache).
    const patched = await call(api(`/${clientId}`), 'PATCH', { token: adminToken, body: { frameOrigins: ['https://app.frame-bank.example:8443'] } });
    expect(patched.status).toBe(200);
    expect(patched.body.frameOrigins).toEqual(['https://app.frame-bank.example:8443']);
    expect(await componentCsp(clientId)).toContain('frame-ancestors https://app.frame-bank.example:8443;');

    // A disabled partner's component may be framed by nobody; enabled again, its origins are back.
    await call(api(`/${clientId}`), 'PATCH', { token: adminToken, body: { enabled: false } });
    expect(await componentCsp(clientId)).toContain("frame-ancestors 'none'");
    await call(api(`/${clientId}`), 'PATCH', { token: adminToken, body: { enabled: true } });
    expect(await componentCsp(clientId)).toContain('frame-ancestors https://app.frame-bank.example:8443;');

    const cleared = await call(api(`/${clientId}`), 'PATCH', { token: adminToken, body: { frameOrigins: [] } });
    expect(cleared.body.frameOrigins).toEqual([]);
    expect(await componentCsp(clientId)).toContain("frame-ancestors 'none'");
  });

  it('a partner registered without them has none: nobody may frame its component', async () => {
    const clientId = uniqueId('frame-bank');
    const res = await call(api(), 'POST', { token: adminToken, body: { clientId, name: 'No Frames', trustAuth: false, appKeys: [] } });
    expect(res.status).toBe(201);
    expect(res.body.frameOrigins).toEqual([]);
    expect(await componentCsp(clientId)).toContain("frame-ancestors 'none'");
  });

  it.each([
    ['a path', ['https://bank.example/app'], ['frameOrigins.0:invalid_format']],
    [
      'a query and a fragment',
      ['https://ok.example', 'https://bank.example?x=1', 'https://bank.example#x'],
      ['frameOrigins.1:invalid_format', 'frameOrigins.2:invalid_format'],
    ],
    [
      'wildcards',
      ['*', 'https://*.bank.example', 'https://bank.example:*'],
      ['frameOrigins.0:invalid_format', 'frameOrigins.1:invalid_format', 'frameOrigins.2:invalid_format'],
    ],
    [
      'another scheme or a CSP keyword',
      ['ftp://bank.example', "'self'", 'javascript:alert(1)'],
      ['frameOrigins.0:invalid_format', 'frameOrigins.1:invalid_format', 'frameOrigins.2:invalid_format'],
    ],
    ['a second directive smuggled in', ['https://bank.example; script-src *'], ['frameOrigins.0:invalid_format']],
    ['plain http on a public host', ['https://ok.example', 'http://bank.example'], ['frameOrigins.1:insecure_scheme']],
    ['not a list', 'https://bank.example', ['frameOrigins:invalid_type']],
    ['a list of non-strings', [42], ['frameOrigins.0:invalid_type']],
    ['too many', Array.from({ length: 21 }, (_, i) => `https://web${i}.bank.example`), ['frameOrigins:too_long']],
  ])('register with %s: 400 naming each bad origin; no Keycloak client, nothing stored', async (_, frameOrigins, fields) => {
    const clientId = uniqueId('bad-frame-bank');
    const res = await call(api(), 'POST', { token: adminToken, body: { clientId, name: 'Bad Frames', trustAuth: false, appKeys: [], frameOrigins } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(fieldsOf(res.body).map((f, i) => (fields[i]?.includes(':') ? f : f.split(':')[0]))).toEqual(fields);
    expect(await kcClientExists(clientId)).toBe(false);
    expect((await call(api(`/${clientId}`), 'GET', { token: adminToken })).status).toBe(404);
  });

  it('update with a bad origin: 400 naming it, and the stored list is unchanged', async () => {
    const clientId = uniqueId('frame-bank');
    await call(api(), 'POST', { token: adminToken, body: { clientId, name: 'Keep', trustAuth: false, appKeys: [], frameOrigins: ['https://keep.example'] } });
    for (const [frameOrigins, field] of [
      [['https://new.example', 'https://new.example/path'], 'frameOrigins.1:invalid_format'],
      [['http://new.example'], 'frameOrigins.0:insecure_scheme'],
    ] as const) {
      const res = await call(api(`/${clientId}`), 'PATCH', { token: adminToken, body: { name: 'Changed', frameOrigins } });
      expect(res.status).toBe(400);
      expect(fieldsOf(res.body)).toEqual([field]);
    }
    expect(await storedOrigins(clientId)).toEqual(['https://keep.example']);
    expect((await call(api(`/${clientId}`), 'GET', { token: adminToken })).body.name).toBe('Keep');
  });
});

describe('frame origins through npm run partner', () => {
  const cli = path.resolve('bff/src/cli/partner.ts');
  const env = { ...process.env, ...bffEnv(stack.settings, stack.upstreamUrl), NODE_ENV: 'test' };
  const run = async (args: string[], extraEnv: Record<string, string> = {}) =>
    JSON.parse((await execFileAsync(process.execPath, [cli, ...args], { env: { ...env, ...extraEnv }, timeout: 60_000 })).stdout) as Json;
  const refused = (args: string[]) => execFileAsync(process.execPath, [cli, ...args], { env, timeout: 60_000 });

  it('register --frame-origin, add, remove and set them; bad origins exit 1 naming the field and change nothing', async () => {
    const clientId = uniqueId('cli-frame-bank');
    const registered = await run([
      'register',
      '--client-id',
      clientId,
      '--name',
      'CLI Frames',
      '--frame-origin',
      'https://Web.CLI.example/',
      '--frame-origin',
      'http://127.0.0.1:4200',
    ]);
    expect(registered.partner.frameOrigins).toEqual(['https://web.cli.example', 'http://127.0.0.1:4200']);

    expect((await run(['add-frame-origin', clientId, 'https://app.cli.example', 'https://web.cli.example'])).frameOrigins).toEqual([
      'https://web.cli.example',
      'http://127.0.0.1:4200',
      'https://app.cli.example',
    ]);
    expect((await run(['remove-frame-origin', clientId, 'HTTP://127.0.0.1:4200', 'https://never.cli.example'])).frameOrigins).toEqual([
      'https://web.cli.example',
      'https://app.cli.example',
    ]);
    expect((await run(['set', clientId, '--frame-origins', 'https://one.cli.example, https://two.cli.example'])).frameOrigins).toEqual([
      'https://one.cli.example',
      'https://two.cli.example',
    ]);
    expect(await componentCsp(clientId)).toContain('frame-ancestors https://one.cli.example https://two.cli.example;');

    await expect(refused(['add-frame-origin', clientId, 'https://ok.cli.example', 'https://cli.example/path'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/VALIDATION_FAILED[\s\S]*frameOrigins\.1: expected an origin/),
    });
    await expect(refused(['add-frame-origin', clientId, 'http://cli.example'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/VALIDATION_FAILED[\s\S]*frameOrigins\.0: http is allowed only for localhost/),
    });
    await expect(
      refused(['register', '--client-id', uniqueId('cli-frame-bank'), '--name', 'x', '--frame-origin', 'https://*.cli.example']),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('frameOrigins.0'),
    });
    expect(await storedOrigins(clientId)).toEqual(['https://one.cli.example', 'https://two.cli.example']);

    // A deployment that allows plain http (PARTNER_FRAME_ORIGINS_ALLOW_HTTP=true) takes it for any host.
    expect((await run(['add-frame-origin', clientId, 'http://intranet.cli.example'], { PARTNER_FRAME_ORIGINS_ALLOW_HTTP: 'true' })).frameOrigins).toContain(
      'http://intranet.cli.example',
    );
    expect((await run(['set', clientId, '--frame-origins', ''])).frameOrigins).toEqual([]);
  });
});

describe('security headers of every BFF response', () => {
  const headers = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    return { status: res.status, csp: res.headers.get('content-security-policy'), xfo: res.headers.get('x-frame-options'), res };
  };
  const expectCommon = (res: Response) => {
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  };

  it.each([
    [
      'the partner API, no server token (401)',
      () => [`${bff.url}/api/auth/v1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }],
    ],
    ['the partner API, unknown authToken (404)', () => [`${bff.url}/api/auth/v1/${randomBytes(32).toString('base64url')}`]],
    ['the admin API (200)', () => [api(), { headers: { authorization: `Bearer ${adminToken}` } }]],
    ['the user API, no token (401)', () => [`${bff.url}/api/v1/user`]],
    ['the health check', () => [`${bff.url}/healthz`]],
    ['the OpenAPI document', () => [`${bff.url}/openapi.json`]],
    ['the portal settings', () => [`${bff.url}/portal/config.json`]],
  ] as const)('%s: nothing to load, no framing', async (_, request) => {
    const [url, init] = request() as [string, RequestInit?];
    const res = await headers(url, init);
    expect(res.csp).toBe(API_CSP);
    expect(res.xfo).toBe('DENY');
    expectCommon(res.res);
  });

  it.each([
    ['the sign-up page', '/signup'],
    ['the portal', '/portal/'],
    ['an expired state claim page (404)', `/state-claim/${randomUUID()}`],
  ])("%s: a strict page policy with frame-ancestors 'none'", async (_, path) => {
    const res = await headers(`${bff.url}${path}`);
    expect(res.res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.csp).toMatch(
      /^default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'[^;]*; form-action [^;]+; frame-ancestors 'none'; base-uri 'none'/,
    );
    expect(res.csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.xfo).toBe('DENY');
    expectCommon(res.res);
  });

  it('the e-mail confirmation page (a token in its URL) too', async () => {
    const res = await headers(`${bff.url}/api/v1/auth/confirm?token=${'x'.repeat(43)}`, { headers: { accept: 'text/html' } });
    expect(res.res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.csp).toContain("frame-ancestors 'none'");
    expect(res.xfo).toBe('DENY');
    expectCommon(res.res);
  });

  it("the super component: its partner's origins, or nobody", async () => {
    const demoPage = await headers(`${bff.url}/portal/super-component.html?partner=${DEMO_PARTNER.clientId}`);
    expect(demoPage.csp).toMatch(new RegExp(`frame-ancestors [^;]*${demoOrigin.replace(/[.]/g, '\\.')}[ ;]`));
    expect(demoPage.csp).toContain("connect-src 'self'; form-action 'none'");
    expect(demoPage.xfo).toBeNull();
    expectCommon(demoPage.res);
    for (const query of ['', '?partner=no-such-partner', '?partner=%27self%27']) {
      const none = await headers(`${bff.url}/portal/super-component.html${query}`);
      expect(none.csp).toContain("frame-ancestors 'none'");
      expect(none.xfo).toBe('DENY');
    }
  });
});

describe('in Chromium', () => {
  /** Another site's page framing `src`: whether the frame shows the component, what it asked the BFF, what Chromium said. */
  async function frameFromOtherSite(page: Page, src: string) {
    const bffCalls: string[] = [];
    const messages: string[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith(`${bff.url}/api/`)) bffCalls.push(r.url());
    });
    page.on('console', (m) => messages.push(m.text()));
    const refused = page.waitForEvent('console', { predicate: (m) => /frame-ancestors|X-Frame-Options/.test(m.text()), timeout: 15_000 });
    await page.goto(`${other.url}/?src=${encodeURIComponent(src)}`);
    const reason = (await refused).text();
    const frame = page.frames().find((f) => f.parentFrame() === page.mainFrame())!;
    return { reason, frame, bffCalls, messages };
  }

  it("the demo bank's page embeds the component; another site framing the very same URL gets nothing", async () => {
    const page = await browser().newPage({ viewport: { width: 1280, height: 900 } });
    const componentAnswer = page.waitForResponse((r) => r.url().startsWith(`${bff.url}/portal/super-component.html`));
    await page.goto(`${demo.url}/credit?${new URLSearchParams({ customer: 'sam', dbpUserId: uniqueId('framed'), lang: 'en' }).toString()}`);
    const component = page.frameLocator('#super-component');
    await component.locator('#consent').waitFor();
    expect((await componentAnswer).headers()['content-security-policy']).toContain(`frame-ancestors ${demoOrigin}`);
    await screenshot(page, 'frame-origins-1-demo-bank-embeds');
    const src = (await page.locator('#super-component').getAttribute('src'))!;
    expect(src).toContain(`?partner=${DEMO_PARTNER.clientId}#authToken=`);
    await page.close();

    // The same URL, live authToken and all, framed by a page on an origin the partner did not register.
    const attacker = await browser().newPage({ viewport: { width: 1280, height: 900 } });
    const { reason, frame, bffCalls } = await frameFromOtherSite(attacker, src);
    expect(reason).toContain('frame-ancestors');
    expect(reason).toContain(demoOrigin);
    // The component never ran in that frame: its document is Chromium's error page, no call reached the API.
    expect(frame.url()).not.toContain('/portal/super-component.html');
    expect(await attacker.frameLocator('#embed').locator('#consent, #expired, #overview, #enrollment').count()).toBe(0);
    expect(bffCalls).toEqual([]);
    await screenshot(attacker, 'frame-origins-2-other-site-refused');
    // The token is as the bank left it: still awaiting consent.
    const token = new URLSearchParams(src.split('#')[1]).get('authToken')!;
    expect((await fetch(`${bff.url}/api/auth/v1/${token}`)).status).toBe(203);
    await attacker.close();
  });

  it('the same harness does show the component for a partner that registered that site (the refusal above is the CSP, not the harness)', async () => {
    const clientId = uniqueId('other-site-bank');
    const res = await call(api(), 'POST', {
      token: adminToken,
      body: { clientId, name: 'Other Site Bank', trustAuth: false, appKeys: [], frameOrigins: [other.url] },
    });
    expect(res.status).toBe(201);
    const page = await browser().newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(
      `${other.url}/?src=${encodeURIComponent(`${bff.url}/portal/super-component.html?partner=${clientId}#authToken=${randomBytes(32).toString('base64url')}&lang=en`)}`,
    );
    await page.frameLocator('#embed').locator('#expired').waitFor();
    await screenshot(page, 'frame-origins-3-registered-site-embeds');
    await page.close();
  });

  it.each([
    ['the sign-up page', () => `${bff.url}/signup`],
    ['the portal', () => `${bff.url}/portal/`],
    ['the super component without a partner', () => `${bff.url}/portal/super-component.html#authToken=${randomBytes(32).toString('base64url')}`],
    ['an API answer', () => `${bff.url}/openapi.json`],
  ])('another site cannot frame %s', async (_, src) => {
    const page = await browser().newPage({ viewport: { width: 1280, height: 900 } });
    const { reason, frame } = await frameFromOtherSite(page, src());
    expect(reason).toMatch(/frame-ancestors 'none'|X-Frame-Options/);
    expect(frame.url()).not.toContain(bff.url);
    if (src().endsWith('/signup')) await screenshot(page, 'frame-origins-4-sign-up-refused');
    await page.close();
  });
});
