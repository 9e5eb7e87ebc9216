import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../kernel/errors.ts';
import { GoogleIdTokenVerifier } from './google-id-token-verifier.ts';

/** A JWKS served on a local port, as Google's certs endpoint serves it. */
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ISSUER = 'https://accounts.google.com';
const AUD = 'our-client.apps.googleusercontent.com';
let server: Server;
let jwksUrl: string;

beforeAll(async () => {
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const now = () => Math.floor(Date.now() / 1000);
const token = (claims: Record<string, unknown> = {}, opts: { key?: KeyObject; kid?: string; iss?: string; aud?: string; exp?: number } = {}) =>
  new SignJWT({ email: 'asha@gmail.example', email_verified: true, given_name: 'Asha', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? 'k1' })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUD)
    .setSubject('1234567890')
    .setIssuedAt(now() - 10)
    .setExpirationTime(opts.exp ?? now() + 3600)
    .sign(opts.key ?? privateKey);

const verifier = () => new GoogleIdTokenVerifier({ issuer: ISSUER, jwksUrl, audiences: [AUD, 'another-of-ours'] });

async function reasonOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  const d = err as DomainError;
  return d.code === 'UNAUTHENTICATED' ? String(d.details.reason) : d.code;
}

describe('GoogleIdTokenVerifier', () => {
  it("reads a good token's person; only the configured issuer, as Keycloak's grant checks it", async () => {
    expect(await verifier().verify(await token())).toMatchObject({
      subject: '1234567890',
      email: 'asha@gmail.example',
      emailVerified: true,
      givenName: 'Asha',
    });
    expect(await reasonOf(verifier().verify(await token({}, { iss: 'accounts.google.com' })))).toBe('issuer');
  });

  it('takes email_verified only when it is the boolean true', async () => {
    expect((await verifier().verify(await token({ email_verified: 'true' }))).emailVerified).toBe(false);
    expect((await verifier().verify(await token({ email_verified: undefined }))).emailVerified).toBe(false);
  });

  it('refuses another audience, another issuer, an expired token, another key, a malformed one', async () => {
    const v = verifier();
    expect(await reasonOf(v.verify(await token({}, { aud: 'someone-else' })))).toBe('audience');
    expect(await reasonOf(v.verify(await token({}, { iss: 'https://evil.example' })))).toBe('issuer');
    expect(await reasonOf(v.verify(await token({}, { exp: now() - 60 })))).toBe('expired');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(await reasonOf(v.verify(await token({}, { key: other })))).toBe('signature');
    expect(await reasonOf(v.verify(await token({}, { key: other, kid: 'unknown' })))).toBe('signature');
    expect(await reasonOf(v.verify('a.b.c'))).toBe('malformed');
  });

  it("answers DEPENDENCY_UNAVAILABLE when Google's keys cannot be fetched", async () => {
    const down = new GoogleIdTokenVerifier({ issuer: ISSUER, jwksUrl: 'http://127.0.0.1:1/certs', audiences: [AUD] });
    expect(await reasonOf(down.verify(await token()))).toBe('DEPENDENCY_UNAVAILABLE');
  });
});
