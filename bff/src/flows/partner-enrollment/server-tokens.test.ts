import { describe, expect, it } from 'vitest';
import type { AccessTokenVerifier } from '../../adapters/keycloak/access-token-verifier.ts';
import { DomainError } from '../../kernel/errors.ts';
import { ServerTokens } from './server-tokens.ts';

function fakeVerifier(claims: Record<string, { azp?: string; exp?: number } | 'invalid' | 'down'>) {
  const calls: string[] = [];
  const verifier = {
    async verify(token: string, opts: { audience: string }) {
      calls.push(`${token}@${opts.audience}`);
      const c = claims[token];
      if (c === 'invalid' || c === undefined) throw new DomainError('UNAUTHENTICATED', 'bad');
      if (c === 'down') throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'no keys');
      return c;
    },
  } as unknown as AccessTokenVerifier;
  return { verifier, calls };
}

const code = async (p: Promise<unknown>) => p.then(() => 'ok', (e: DomainError) => e.code);

describe('ServerTokens', () => {
  it('401 without a bearer token; 403 for an invalid one or one without azp; 503 passes through', async () => {
    const { verifier } = fakeVerifier({ bad: 'invalid', noAzp: { exp: 2e9 }, down: 'down' });
    const tokens = new ServerTokens({ verifier, audience: 'bff' });
    expect(await code(tokens.clientOf(undefined))).toBe('UNAUTHENTICATED');
    expect(await code(tokens.clientOf('Basic abc'))).toBe('UNAUTHENTICATED');
    expect(await code(tokens.clientOf('Bearer bad'))).toBe('FORBIDDEN');
    expect(await code(tokens.clientOf('Bearer noAzp'))).toBe('FORBIDDEN');
    expect(await code(tokens.clientOf('Bearer down'))).toBe('IDENTITY_DIRECTORY_UNAVAILABLE');
  });

  it('verifies a token once until it expires, with the audience of the BFF', async () => {
    let now = 1_000_000;
    const { verifier, calls } = fakeVerifier({ t1: { azp: 'bank', exp: 1_100 } });
    const tokens = new ServerTokens({ verifier, audience: 'bff', now: () => now });
    expect(await tokens.clientOf('Bearer t1')).toBe('bank');
    expect(await tokens.clientOf('Bearer t1')).toBe('bank');
    expect(calls).toEqual(['t1@bff']);
    now = 1_100_000; // exp reached: checked again (and refused by the real verifier)
    await tokens.clientOf('Bearer t1');
    expect(calls).toHaveLength(2);
  });

  it('never remembers a refused token, and forgets the oldest beyond its size', async () => {
    const { verifier, calls } = fakeVerifier({ bad: 'invalid', a: { azp: 'A', exp: 2e9 }, b: { azp: 'B', exp: 2e9 }, c: { azp: 'C', exp: 2e9 } });
    const tokens = new ServerTokens({ verifier, audience: 'bff', maxEntries: 2 });
    await code(tokens.clientOf('Bearer bad'));
    await code(tokens.clientOf('Bearer bad'));
    for (const t of ['a', 'b', 'c', 'c', 'b', 'a']) await tokens.clientOf(`Bearer ${t}`);
    expect(calls).toEqual(['bad@bff', 'bad@bff', 'a@bff', 'b@bff', 'c@bff', 'a@bff']);
  });
});
