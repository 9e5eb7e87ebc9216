import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/**
 * The stand-in for a state's own portal (issue 19 §1, decision 0039): a small real issuer with its
 * own signing keys, which it publishes at `/.well-known/jwks.json`, and a page listing demo people with
 * "Sign in at the platform" links (a fresh signed JWT each time the page is shown). Development and
 * tests only: its admin endpoints (`POST /admin/rotate`, `POST /admin/token`) let tests rotate the
 * keys and mint links with chosen claims, and it keeps its keys in memory only.
 *
 * A link is `${bffPublicUrl}/state-link?token=<JWT>`; the JWT is ES256 with `kid`, `iss` (this
 * portal), `aud` (the platform's audience for it), `sub` (the state's id of the person), `name`,
 * `phone_number`, `jti`, `iat`, `exp` (5 minutes).
 */
export interface StatePortalPerson {
  stateUserId: string;
  name: string;
  phone: string;
}

export interface StatePortalOptions {
  port: number;
  /** Where the BFF is, for the links (`BFF_PUBLIC_URL`). */
  bffPublicUrl: string;
  /** The `aud` the platform expects of this portal (its STATE_LINK_ISSUERS entry). */
  audience: string;
  host?: string;
  /** The issuer's public name; `http://localhost:<port>` by default. */
  issuer?: string;
  people?: StatePortalPerson[];
  /** Links' lifetime in seconds (300). */
  ttlSeconds?: number;
}

/** What `POST /admin/token` takes: the person, and claims to override (a test's expired, wrong-audience... link). */
export interface TokenRequest {
  stateUserId: string;
  name: string;
  phone: string;
  /** Seconds from now; negative for a link already expired. */
  expiresIn?: number;
  /** Seconds ago the link was made. */
  issuedAgo?: number;
  audience?: string;
  issuer?: string;
  jti?: string;
  /** Sign with the key before the last rotation (kept after rotating, never published again). */
  retiredKey?: boolean;
  tenant?: string;
}

export interface StatePortal {
  url: string;
  issuer: string;
  jwksUrl: string;
  audience: string;
  /** The STATE_LINK_ISSUERS entry for it. */
  issuerConfig(tenant: string, identityProvider?: string): { issuer: string; jwksUrl: string; audience: string; tenant: string; identityProvider?: string };
  close(): Promise<void>;
}

export const DEMO_STATE_PEOPLE: StatePortalPerson[] = [
  { stateUserId: 'SD-DEMO-1001', name: 'Md Manzarul Haque', phone: '+919800001001' },
  { stateUserId: 'SD-DEMO-1002', name: 'उमा शर्मा', phone: '+919800001002' },
  { stateUserId: 'SD-DEMO-1003', name: 'Ravi Kumar', phone: '+919800001003' },
];

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

export async function startStatePortal(opts: StatePortalOptions): Promise<StatePortal> {
  let current = await newKey();
  let retired: SigningKey | null = null;
  const ttl = opts.ttlSeconds ?? 300;
  const people = opts.people ?? DEMO_STATE_PEOPLE;
  let issuer = opts.issuer ?? '';

  const sign = async (req: TokenRequest): Promise<string> => {
    const key = req.retiredKey && retired ? retired : current;
    const now = Math.floor(Date.now() / 1000);
    const iat = now - (req.issuedAgo ?? 0);
    return new SignJWT({ name: req.name, phone_number: req.phone, ...(req.tenant ? { tenant: req.tenant } : {}) })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setIssuer(req.issuer ?? issuer)
      .setAudience(req.audience ?? opts.audience)
      .setSubject(req.stateUserId)
      .setJti(req.jti ?? randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(now + (req.expiresIn ?? ttl))
      .sign(key.privateKey);
  };
  const linkOf = (token: string, lang: string) => `${opts.bffPublicUrl}/state-link?${new URLSearchParams({ token, lang }).toString()}`;

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://portal');
      const send = (status: number, type: string, body: string) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      if (req.method === 'GET' && url.pathname === '/.well-known/jwks.json') {
        return send(200, 'application/json', JSON.stringify({ keys: [current.jwk] }));
      }
      if (req.method === 'GET' && url.pathname === '/') {
        const lang = url.searchParams.get('lang') === 'hi' ? 'hi' : 'en';
        const rows = await Promise.all(
          people.map(
            async (p) =>
              `<li><strong>${escapeHtml(p.name)}</strong> (${escapeHtml(p.stateUserId)}, ${escapeHtml(p.phone)}) — <a class="sign-in" data-state-user-id="${escapeHtml(p.stateUserId)}" href="${escapeHtml(linkOf(await sign(p), lang))}">Sign in at the platform</a></li>`,
          ),
        );
        return send(
          200,
          'text/html; charset=utf-8',
          `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>State of Demo portal (stand-in)</title></head><body><main><h1>State of Demo portal (stand-in)</h1><p>Development only: each link is a fresh signed link (5 minutes, usable once) to sign in at the platform as that person.</p><ul>${rows.join('')}</ul><p>Signing key <code>${escapeHtml(current.kid)}</code>; keys at <a href="/.well-known/jwks.json">/.well-known/jwks.json</a>.</p></main></body></html>`,
        );
      }
      if (req.method === 'POST' && url.pathname === '/admin/rotate') {
        retired = current;
        current = await newKey();
        return send(200, 'application/json', JSON.stringify({ kid: current.kid, retiredKid: retired.kid }));
      }
      if (req.method === 'POST' && url.pathname === '/admin/token') {
        const body = JSON.parse(await readBody(req)) as TokenRequest & { lang?: string };
        const token = await sign(body);
        return send(200, 'application/json', JSON.stringify({ token, link: linkOf(token, body.lang ?? 'en') }));
      }
      send(404, 'text/plain', 'not found');
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(err instanceof Error ? err.message : 'error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  if (!issuer) issuer = `http://localhost:${port}`;
  const url = `http://localhost:${port}`;
  const jwksUrl = `http://127.0.0.1:${port}/.well-known/jwks.json`;
  return {
    url,
    issuer,
    jwksUrl,
    audience: opts.audience,
    issuerConfig: (tenant, identityProvider) => ({ issuer, jwksUrl, audience: opts.audience, tenant, ...(identityProvider ? { identityProvider } : {}) }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 65536) req.destroy();
    });
    req.on('end', () => resolve(body || '{}'));
    req.on('error', reject);
  });
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
