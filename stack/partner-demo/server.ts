import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { DEMO_CUSTOMERS, DEMO_PARTNER, type DemoCustomer } from './demo-partner.ts';

/**
 * The demo partner's backend: a tiny digital banking platform ("Demo Bank") with its own origin. It
 * holds the partner's client secret (server-side only), gets a server token by client credentials,
 * calls `POST /api/auth/v1` for the customer being shown, and puts the platform's super component on
 * its page in an iframe with the authToken in the fragment. Part of the dev stack, not of the BFF:
 * it plays the partner, so it knows nothing the partner would not (decision 0010).
 */
export interface PartnerDemoOptions {
  port: number;
  host?: string;
  /** The BFF as browsers reach it (the iframe) and as this server reaches it (the partner API). */
  bffPublicUrl: string;
  bffUrl?: string;
  keycloakUrl: string;
  realm: string;
  clientSecret: string;
}

export interface RunningPartnerDemo {
  url: string;
  close(): Promise<void>;
}

const css = readFileSync(new URL('./demo-bank.css', import.meta.url));
const js = readFileSync(new URL('./demo-bank.js', import.meta.url));

/** Server token of the partner client, reused until shortly before it expires. */
function serverTokens(opts: PartnerDemoOptions) {
  let cached: { token: string; until: number } | undefined;
  return async (): Promise<string> => {
    if (cached && cached.until > Date.now()) return cached.token;
    const res = await fetch(`${opts.keycloakUrl}/realms/${opts.realm}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: DEMO_PARTNER.clientId, client_secret: opts.clientSecret }),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`Keycloak refused the client credentials (HTTP ${res.status})`);
    const body = (await res.json()) as { access_token: string; expires_in: number };
    cached = { token: body.access_token, until: Date.now() + (body.expires_in - 30) * 1000 };
    return cached.token;
  };
}

type AuthTokenResult = { authToken: string } | { error: string };

/** POST /api/auth/v1 for one customer; the error is the problem's code (or what failed), for the page. */
async function requestAuthToken(opts: PartnerDemoOptions, token: () => Promise<string>, customer: DemoCustomer, dbpUserId: string): Promise<AuthTokenResult> {
  try {
    const res = await fetch(`${opts.bffUrl ?? opts.bffPublicUrl}/api/auth/v1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ appKey: customer.appKey, dbpUserId, pii: customer.pii }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json().catch(() => ({}))) as { authToken?: string; code?: string };
    if (res.ok && body.authToken) return { authToken: body.authToken };
    return { error: `${body.code ?? 'ERROR'} (HTTP ${res.status})` };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function layout(opts: PartnerDemoOptions, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Demo Bank</title>
  <link rel="stylesheet" href="/demo-bank.css">
  <script src="/demo-bank.js" defer></script>
</head>
<body data-platform-origin="${escapeHtml(new URL(opts.bffPublicUrl).origin)}">
  <header class="bank-header"><a href="/" class="bank-name">Demo Bank</a><span class="bank-tag">digital banking · demo partner of the Identity Platform</span></header>
  <main class="bank-main">${body}</main>
</body>
</html>
`;
}

function homePage(opts: PartnerDemoOptions): string {
  const customers = Object.entries(DEMO_CUSTOMERS)
    .map(
      ([key, c]) => `
      <form class="customer" method="get" action="/credit">
        <input type="hidden" name="customer" value="${key}">
        <h2>${escapeHtml(`${c.pii.firstName} ${c.pii.lastName}`)}</h2>
        <p>${escapeHtml(c.story)}</p>
        <p class="meta">appKey <code>${c.appKey}</code></p>
        <label for="id-${key}">Customer id at the bank</label>
        <input id="id-${key}" name="dbpUserId" value="${escapeHtml(c.dbpUserId)}" pattern="[\\x21-\\x7e]{1,255}" required>
        <label for="lang-${key}">Language</label>
        <select id="lang-${key}" name="lang"><option value="en">English</option><option value="hi">हिन्दी</option></select>
        <button type="submit" id="open-${key}">Open credit overview as ${escapeHtml(c.pii.firstName)}</button>
      </form>`,
    )
    .join('');
  return layout(
    opts,
    `<h1>Welcome back</h1>
    <p class="lead">Pick the customer this page is shown to. The bank's server asks the platform for an authToken
    (<code>POST /api/auth/v1</code>, with the bank's client secret) and hands it to the platform's super component below.</p>
    <div class="customers">${customers}
      <form class="customer" method="get" action="/credit">
        <input type="hidden" name="customer" value="expired">
        <h2>An expired link</h2>
        <p>The component opened with an authToken the platform does not know (expired, used or never issued).</p>
        <button type="submit" id="open-expired">Open with an expired link</button>
      </form>
    </div>`,
  );
}

function creditPage(opts: PartnerDemoOptions, heading: string, result: AuthTokenResult, lang: string): string {
  if ('error' in result) {
    return layout(
      opts,
      `<h1>${escapeHtml(heading)}</h1><p class="bank-error" role="alert">The credit service could not be opened: ${escapeHtml(result.error)}.</p><p><a href="/">Back</a></p>`,
    );
  }
  // `?partner=`: the platform lets only this partner's registered origins frame the component.
  const src = `${opts.bffPublicUrl}/portal/super-component.html?partner=${DEMO_PARTNER.clientId}#${new URLSearchParams({ authToken: result.authToken, lang }).toString()}`;
  return layout(
    opts,
    `<h1>${escapeHtml(heading)}</h1>
    <div class="bank-grid">
      <section class="bank-panel"><h2>Accounts</h2><p>Everyday checking <strong>$2,418.20</strong></p><p>Savings <strong>$9,950.00</strong></p><p><a href="/">Switch customer</a></p></section>
      <section class="bank-panel component"><iframe id="super-component" title="Credit overview" src="${escapeHtml(src)}"></iframe>
      <p class="meta">Component state: <span id="component-state">loading</span></p></section>
    </div>`,
  );
}

export function partnerDemoApp(opts: PartnerDemoOptions): Koa {
  const token = serverTokens(opts);
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = homePage(opts);
  });
  router.get('/credit', async (ctx) => {
    const key = String(ctx.query.customer ?? '');
    const lang = ctx.query.lang === 'hi' ? 'hi' : 'en';
    ctx.type = 'html';
    if (key === 'expired') {
      // A well-formed token the platform never issued: the component's 404 answer.
      ctx.body = creditPage(opts, 'Credit overview', { authToken: randomBytes(32).toString('base64url') }, lang);
      return;
    }
    const customer = DEMO_CUSTOMERS[key];
    const dbpUserId = typeof ctx.query.dbpUserId === 'string' && /^[\x21-\x7e]{1,255}$/.test(ctx.query.dbpUserId) ? ctx.query.dbpUserId : customer?.dbpUserId;
    if (!customer || !dbpUserId) {
      ctx.status = 400;
      ctx.body = layout(opts, '<p class="bank-error" role="alert">Unknown customer.</p><p><a href="/">Back</a></p>');
      return;
    }
    ctx.body = creditPage(opts, `Hello, ${customer.pii.firstName}`, await requestAuthToken(opts, token, customer, dbpUserId), lang);
  });
  router.get('/demo-bank.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.body = css;
  });
  router.get('/demo-bank.js', (ctx) => {
    ctx.type = 'text/javascript';
    ctx.body = js;
  });

  const app = new Koa();
  app.use(async (ctx, next) => {
    const platform = new URL(opts.bffPublicUrl).origin;
    ctx.set('Content-Security-Policy', `default-src 'none'; script-src 'self'; style-src 'self'; frame-src ${platform}; form-action 'self'; base-uri 'none'`);
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

export async function startPartnerDemo(opts: PartnerDemoOptions): Promise<RunningPartnerDemo> {
  const app = partnerDemoApp(opts);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve(s)).once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
