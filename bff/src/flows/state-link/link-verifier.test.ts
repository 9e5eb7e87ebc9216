import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStatePortal, type StatePortal, type TokenRequest } from '../../../../stack/state-portal/server.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import { refusalOf, StateLinkVerifier } from './link-verifier.ts';

/** The link's checks against a real issuer (the stand-in portal on a free port); `jti`s in a map standing in for Redis' SET NX. */
const spent = new Map<string, number>();
const store = {
  setIfAbsent: async (key: string, _value: string, ttl: number) => {
    if (spent.has(key)) return false;
    spent.set(key, ttl);
    return true;
  },
} as unknown as EphemeralStore;

let portal: StatePortal;
let verifier: StateLinkVerifier;
beforeAll(async () => {
  portal = await startStatePortal({ port: 0, bffPublicUrl: 'http://bff.test', audience: 'http://bff.test/state-link' });
  verifier = new StateLinkVerifier({
    issuers: [portal.issuerConfig('state-demo', 'state-demo')],
    store,
    maxAgeSeconds: 300,
    clockToleranceSeconds: 5,
    jwksCacheSeconds: 3600,
    jwksCooldownSeconds: 0,
  });
});
afterAll(() => portal.close());

const person = (): TokenRequest => ({ stateUserId: `SD-${randomUUID().slice(0, 8)}`, name: 'Uma Sharma', phone: '+919812345678' });
async function token(req: TokenRequest): Promise<string> {
  const res = await fetch(`${portal.url}/admin/token`, { method: 'POST', body: JSON.stringify(req) });
  return ((await res.json()) as { token: string }).token;
}
async function refusal(t: unknown): Promise<string | null> {
  try {
    await verifier.verify(t);
    return null;
  } catch (err) {
    return refusalOf(err);
  }
}

describe('StateLinkVerifier', () => {
  it('accepts a good link once: its claims, the tenant of its issuer, the jti spent until exp', async () => {
    const p = person();
    const t = await token(p);
    const claims = await verifier.verify(t);
    expect(claims).toMatchObject({ stateUserId: p.stateUserId, name: 'Uma Sharma', phone: '+919812345678', issuer: { tenant: 'state-demo' } });
    expect(await refusal(t)).toBe('replayed');
  });

  it.each([
    ['expired', { expiresIn: -60 }],
    ['too-old', { issuedAgo: 1000, expiresIn: 600 }],
    ['not-yet-valid', { issuedAgo: -600, expiresIn: 1200 }],
    ['audience', { audience: 'http://another.test' }],
    ['unknown-issuer', { issuer: 'http://attacker.test' }],
    ['tenant', { tenant: 'another-state' }],
    ['claims', { phone: 'not a phone' }],
    ['claims', { name: '<script>' }],
  ] as const)('refuses %s (%j), spending nothing', async (reason, over) => {
    const p = { ...person(), ...over, jti: randomUUID() };
    const before = spent.size;
    expect(await refusal(await token(p))).toBe(reason);
    expect(spent.size).toBe(before);
  });

  it('refuses what is not a JWT, and an unsigned one', async () => {
    expect(await refusal(undefined)).toBe('malformed');
    expect(await refusal('a.b')).toBe('malformed');
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const none = `${b64({ alg: 'none' })}.${b64({ iss: portal.issuer, aud: portal.audience, sub: 'x', name: 'A', phone_number: '+919812345678', jti: 'j', iat: now, exp: now + 60 })}.`;
    expect(await refusal(none)).toMatch(/malformed|signature/);
  });

  it('follows a rotation without a restart, and refuses the key the state removed', async () => {
    expect(await refusal(await token(person()))).toBeNull();
    await fetch(`${portal.url}/admin/rotate`, { method: 'POST' });
    expect(await refusal(await token(person()))).toBeNull();
    expect(await refusal(await token({ ...person(), retiredKey: true }))).toBe('signature');
  });

  it('a refused link does not burn its jti: the same jti in a good link still works', async () => {
    const jti = randomUUID();
    expect(await refusal(await token({ ...person(), jti, audience: 'http://another.test' }))).toBe('audience');
    expect(await refusal(await token({ ...person(), jti }))).toBeNull();
  });

  it("the state's keys out of reach: keys-unavailable (503), nothing spent", async () => {
    const cut = new StateLinkVerifier({
      issuers: [{ ...portal.issuerConfig('state-demo'), jwksUrl: 'http://127.0.0.1:9/.well-known/jwks.json' }],
      store,
      maxAgeSeconds: 300,
      clockToleranceSeconds: 5,
      jwksCacheSeconds: 3600,
      jwksCooldownSeconds: 0,
    });
    const before = spent.size;
    const err = await cut.verify(await token(person())).catch((e: unknown) => e);
    expect(refusalOf(err)).toBe('keys-unavailable');
    expect((err as { code: string }).code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(spent.size).toBe(before);
  });
});
