import { generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { p256PrivateKey, signEs256 } from './assertion-user-tokens.ts';

describe('signEs256', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  it('makes a compact JWS that a JOSE library verifies with the public key', async () => {
    const jwt = signEs256(
      { alg: 'ES256', kid: 'k1', typ: 'JWT' },
      { iss: 'me', sub: 'user-1', aud: 'realm', iat: 1, exp: 4_000_000_000, jti: 'j' },
      p256PrivateKey(pem),
    );
    const { payload } = await jwtVerify(jwt, publicKey, { algorithms: ['ES256'], issuer: 'me', audience: 'realm' });
    expect(payload).toMatchObject({ sub: 'user-1', jti: 'j' });
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', kid: 'k1', typ: 'JWT' });
  });

  it('fails when the payload was changed after signing', async () => {
    const jwt = signEs256({ alg: 'ES256' }, { sub: 'user-1' }, p256PrivateKey(pem));
    const [h, , s] = jwt.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'user-2' })).toString('base64url')}.${s}`;
    await expect(jwtVerify(forged, publicKey)).rejects.toThrow(/signature/);
  });

  it('takes the key as PEM or as one line of base64 DER, and refuses other key types', () => {
    const der = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    expect(p256PrivateKey(der).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => p256PrivateKey(rsa)).toThrow(/P-256/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => p256PrivateKey(p384)).toThrow(/P-256/);
  });
});
