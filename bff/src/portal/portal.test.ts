import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../http/app.ts';
import { staticAssets } from '../http/static-assets.ts';
import { createLogger } from '../kernel/logger.ts';
import { loadPortalBuild, portalRouter, type PortalBuild } from './portal.ts';

const KEYCLOAK = 'http://localhost:8080';
/** Registered frame origins per partner, as PartnerStore.frameOriginsOf answers them. */
const FRAME_ORIGINS: Record<string, string[]> = { 'acme-bank': ['https://bank.example', 'http://localhost:3100'], 'quiet-bank': [] };
const asked: string[] = [];

/** The BFF's app with the portal router and files, on a free port. */
async function serve(build: PortalBuild | undefined): Promise<{ base: string; server: Server }> {
  const app = createApp({
    logger: createLogger({ level: 'silent' }),
    readiness: [],
    readinessTimeoutMs: 100,
    openApi: {},
    routers: [
      portalRouter({
        keycloakUrl: KEYCLOAK,
        realm: 'platform',
        clientId: 'portal',
        stateIdp: 'state-demo',
        googleIdp: 'google-demo',
        build,
        frameOriginsOf: async (clientId) => (asked.push(clientId), FRAME_ORIGINS[clientId] ?? []),
      }),
    ],
    assets: staticAssets({ ...build?.assets }),
  });
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('the portal as the BFF serves it', () => {
  let dir: string;
  let base: string;
  let server: Server;
  beforeAll(async () => {
    // A build's shape: three pages, hashed files, the source stamp.
    dir = mkdtempSync(path.join(tmpdir(), 'portal-dist-'));
    for (const page of ['index', 'silent-check-sso', 'super-component']) writeFileSync(path.join(dir, `${page}.html`), `<!DOCTYPE html><title>${page}</title>`);
    writeFileSync(path.join(dir, 'index-Ab12.js'), 'console.log(1)');
    writeFileSync(path.join(dir, 'index-Ab12.css'), 'body{}');
    writeFileSync(path.join(dir, '.sources-sha256'), 'x');
    const build = loadPortalBuild(pathToFileURL(`${dir}/`));
    expect(build).toBeDefined();
    ({ base, server } = await serve(build));
  });
  afterAll(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the portal page, not framable, allowed to reach Keycloak only', async () => {
    const bare = await fetch(`${base}/portal`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/portal/');
    for (const url of [`${base}/portal/`, `${base}/portal`]) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toContain('<title>index</title>');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain(`connect-src 'self' ${KEYCLOAK}`);
      expect(csp).toContain("script-src 'self'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
  });

  it("lets only the named partner's registered origins frame the super component, which talks to this origin only", async () => {
    const res = await fetch(`${base}/portal/super-component.html?partner=acme-bank`);
    expect(await res.text()).toContain('<title>super-component</title>');
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'none'; " +
        "frame-ancestors https://bank.example http://localhost:3100; base-uri 'none'",
    );
    // X-Frame-Options cannot name origins; with it, browsers would refuse the partner too.
    expect(res.headers.get('x-frame-options')).toBeNull();
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it.each([
    ['no partner', ''],
    ['an unknown partner', '?partner=nobody-bank'],
    ['a partner without origins', '?partner=quiet-bank'],
    ['a partner id that cannot exist (not looked up)', `?partner=${encodeURIComponent('x; frame-ancestors *')}`],
    ['two partner parameters', '?partner=acme-bank&partner=quiet-bank'],
  ])('lets nobody frame the super component for %s', async (_, query) => {
    asked.length = 0;
    const res = await fetch(`${base}/portal/super-component.html${query}`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp.match(/frame-ancestors/g)).toHaveLength(1);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(asked.every((id) => /^[A-Za-z0-9._-]+$/.test(id))).toBe(true);
  });

  it('lets only the portal frame the silent check-sso page', async () => {
    const res = await fetch(`${base}/portal/silent-check-sso.html`);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });

  it("serves the build's other files at /assets/portal/, and nothing else of the folder", async () => {
    const js = await fetch(`${base}/assets/portal/index-Ab12.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${base}/assets/portal/index-Ab12.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    for (const name of ['.sources-sha256', 'index.html', 'missing.js']) expect((await fetch(`${base}/assets/portal/${name}`)).status).toBe(404);
  });

  it("answers any other address under /portal/ with a page in the browser's language that leads back (404), not JSON", async () => {
    for (const [path, lang, title] of [
      ['/portal/nope', 'en-GB,en;q=0.9', 'Page not found'],
      ['/portal/profile/old/link?x=1', 'hi-IN,hi;q=0.9', 'पेज नहीं मिला'],
      ['/portal/nope?lang=hi', 'en', 'पेज नहीं मिला'],
    ] as const) {
      const res = await fetch(`${base}${path}`, { headers: { 'accept-language': lang } });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const page = await res.text();
      expect(page).toContain(`<h1 id="title" tabindex="-1">${title}</h1>`);
      expect(page).toMatch(/href="\/portal\/\?lang=(en|hi)"/);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
    // Not under /portal/: the API's problem+json.
    const api = await fetch(`${base}/api/v1/nope`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('tells keycloak-js where to sign in', async () => {
    expect(await (await fetch(`${base}/portal/config.json`)).json()).toEqual({
      keycloakUrl: KEYCLOAK,
      realm: 'platform',
      clientId: 'portal',
      stateIdp: 'state-demo',
      googleIdp: 'google-demo',
      signUpUrl: '/signup',
    });
  });
});

describe('without a build', () => {
  it('finds none, and the pages say how to build it (503)', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'portal-none-'));
    expect(loadPortalBuild(pathToFileURL(`${empty}/`))).toBeUndefined();
    const { base, server } = await serve(undefined);
    const res = await fetch(`${base}/portal/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('node portal/build.ts');
    expect((await fetch(`${base}/portal/config.json`)).status).toBe(200);
    server.close();
    rmSync(empty, { recursive: true, force: true });
  });
});
