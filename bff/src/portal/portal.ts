import { existsSync, readdirSync, readFileSync } from 'node:fs';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Asset } from '../http/static-assets.ts';

/**
 * The demo portal and the partner super component (portal/, built by Vite into portal/dist): their
 * HTML pages are routes here, each with its own security headers; every other file of the build is
 * one of the BFF's static files at /assets/portal/<name>. The keycloak-js settings come from
 * `GET /portal/config.json`, so one build works against any stack.
 * See docs/decisions/0010-portal-and-partner-demo.md.
 */
export const portalDistDir = new URL('../../../portal/dist/', import.meta.url);

const PAGES = ['index', 'silent-check-sso', 'super-component'] as const;
type Page = (typeof PAGES)[number];

export interface PortalBuild {
  pages: Record<Page, Buffer>;
  /** For staticAssets(): `portal/<name>` -> file. */
  assets: Record<string, Asset>;
}

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
};

/** The build's files, read once at start; undefined when the portal was not built. */
export function loadPortalBuild(dir: URL = portalDistDir): PortalBuild | undefined {
  if (!existsSync(new URL('index.html', dir))) return undefined;
  const pages = Object.fromEntries(PAGES.map((p) => [p, readFileSync(new URL(`${p}.html`, dir))])) as Record<Page, Buffer>;
  const assets: Record<string, Asset> = {};
  for (const name of readdirSync(dir)) {
    const type = TYPES[name.split('.').pop() ?? ''];
    if (type) assets[`portal/${name}`] = { file: new URL(name, dir), type };
  }
  return { pages, assets };
}

export interface PortalDeps {
  /** Keycloak's public base URL and the realm: where keycloak-js signs people in. */
  keycloakUrl: string;
  realm: string;
  /** The public client of the portal, and the IdP aliases of its "sign in with ..." buttons. */
  clientId: string;
  stateIdp: string;
  googleIdp: string;
  build: PortalBuild | undefined;
}

export function portalRouter(deps: PortalDeps): Router {
  const keycloak = new URL(deps.keycloakUrl).origin;
  const csp = (extra: string[]) =>
    ["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "base-uri 'none'", ...extra].join('; ');
  const headers: Record<Page, Record<string, string>> = {
    // keycloak-js calls Keycloak's token endpoint and frames it for the silent session check; the
    // portal itself may not be framed (it shows a profile and takes codes).
    index: { 'Content-Security-Policy': csp([`connect-src 'self' ${keycloak}`, `frame-src 'self' ${keycloak}`, `form-action ${keycloak}`, "frame-ancestors 'none'"]), 'X-Frame-Options': 'DENY' },
    'silent-check-sso': { 'Content-Security-Policy': csp(["frame-ancestors 'self'"]) },
    // Framed by partners' pages on any origin: the authToken in its fragment is the only credential,
    // and whoever holds it can call the API directly, so framing adds nothing to take.
    'super-component': { 'Content-Security-Policy': csp(["connect-src 'self'", "form-action 'none'"]) },
  };
  const page = (name: Page) => (ctx: Context) => {
    if (!deps.build) {
      ctx.status = 503;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'The portal is not built: run `node portal/build.ts` (npm start and the tests do it).\n';
      return;
    }
    ctx.set({ ...headers[name], 'Referrer-Policy': 'no-referrer' });
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = deps.build.pages[name];
  };

  const router = new Router();
  router.get('/portal/', page('index'));
  // The router lets this route match /portal/ too: only the bare path is redirected (the page's
  // keycloak-js redirect URI is /portal/).
  router.get('/portal', (ctx, next) => {
    if (ctx.path !== '/portal') return next();
    ctx.status = 308;
    ctx.redirect('/portal/');
    return undefined;
  });
  router.get('/portal/silent-check-sso.html', page('silent-check-sso'));
  router.get('/portal/super-component.html', page('super-component'));
  router.get('/portal/config.json', (ctx) => {
    ctx.body = {
      keycloakUrl: deps.keycloakUrl,
      realm: deps.realm,
      clientId: deps.clientId,
      stateIdp: deps.stateIdp,
      googleIdp: deps.googleIdp,
      signUpUrl: '/signup',
    };
  });
  return router;
}
