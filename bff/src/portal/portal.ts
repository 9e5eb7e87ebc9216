import { existsSync, readdirSync, readFileSync } from 'node:fs';
import Router from '@koa/router';
import type { Context } from 'koa';
import { html } from '../http/html.ts';
import { page, pageLanguage, sendPage } from '../http/pages.ts';
import { pagePolicy, type Directives } from '../http/security-headers.ts';
import type { Asset } from '../http/static-assets.ts';
import type { Language } from '../kernel/languages.ts';
import { PARTNER_ID } from '../partners/partner-ids.ts';

/**
 * The demo portal and the partner super component (portal/, built by Vite into portal/dist): their
 * HTML pages are routes here, each stating where its CSP differs from the BFF's page policy
 * (http/security-headers.ts, which sets the headers); every other file of the build is
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
  /** Origins allowed to frame a partner's super component; none for an unknown or disabled partner. */
  frameOriginsOf(clientId: string): Promise<readonly string[]>;
}

export function portalRouter(deps: PortalDeps): Router {
  const keycloak = new URL(deps.keycloakUrl).origin;
  const policies: Record<Exclude<Page, 'super-component'>, Directives> = {
    // keycloak-js calls Keycloak's token endpoint and frames it for the silent session check; the
    // portal itself may not be framed (it shows a profile and takes codes).
    index: { 'connect-src': ["'self'", keycloak], 'frame-src': ["'self'", keycloak], 'form-action': [keycloak] },
    // Framed by the portal itself (keycloak-js' hidden iframe); it only reads its URL and reports it.
    'silent-check-sso': { 'connect-src': ["'none'"], 'form-action': ["'none'"], 'frame-ancestors': ["'self'"] },
  };
  const send = (ctx: Context, name: Page) => {
    if (!deps.build) {
      ctx.status = 503;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'The portal is not built: run `node portal/build.ts` (npm start and the tests do it).\n';
      return;
    }
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = deps.build.pages[name];
  };
  const page = (name: Exclude<Page, 'super-component'>) => (ctx: Context) => {
    pagePolicy(ctx, policies[name]);
    send(ctx, name);
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
  /**
   * Framed only by the pages of the partner named in `?partner=<clientId>` (its registered frame
   * origins; none for a missing, unknown or disabled partner). The authToken in the fragment never
   * reaches us, so the partner is named in the query; its origins are no secret. Decision 0010.
   */
  router.get('/portal/super-component.html', async (ctx) => {
    const partner = ctx.query.partner;
    const origins = typeof partner === 'string' && PARTNER_ID.test(partner) ? await deps.frameOriginsOf(partner) : [];
    pagePolicy(ctx, { 'connect-src': ["'self'"], 'form-action': ["'none'"], 'frame-ancestors': origins });
    send(ctx, 'super-component');
  });
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
  // Last: any other address under /portal/ (a mistyped or old link) is a page with a way on, not JSON.
  router.get('/portal/*path', sendNotFoundPage);
  return router;
}

const NOT_FOUND: Record<Language, { title: string; body: string; home: string }> = {
  en: { title: 'Page not found', body: 'This address may be mistyped, or the page has moved.', home: 'Go to your account' },
  hi: { title: 'पेज नहीं मिला', body: 'हो सकता है यह पता गलत लिखा गया हो, या पेज कहीं और चला गया हो।', home: 'अपने खाते पर जाएँ' },
};

/** 404 as a page of the page kit, in the person's language (`?lang=`, else the browser's). */
function sendNotFoundPage(ctx: Context): void {
  const lang = pageLanguage(ctx);
  const t = NOT_FOUND[lang];
  ctx.status = 404;
  sendPage(
    ctx,
    page({
      lang,
      title: t.title,
      card: { id: 'not-found', stack: true },
      languageHref: (l) => `${ctx.path}?lang=${l}`,
      body: html`<p class="lead">${t.body}</p>
      <a class="button primary" id="portal-home" href="/portal/?lang=${lang}">${t.home}</a>`,
    }),
  );
}
