import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FieldEncryption, FieldEncryptionError, parseKeyRing } from './field-encryption.ts';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const ring = (active: string, keys: Record<string, Buffer> = { k1, k2 }) => new FieldEncryption({ keys: new Map(Object.entries(keys)), activeKeyId: active });

describe('FieldEncryption', () => {
  it('round-trips with the same associated data, and carries the key id, not the plaintext', () => {
    const enc = ring('k1');
    const sealed = enc.seal('Asha Verma 1990-01-31', 'row-1:pii');
    expect(sealed).toMatch(/^v1\.k1\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('Asha');
    expect(enc.open(sealed, 'row-1:pii')).toBe('Asha Verma 1990-01-31');
  });

  it('uses a fresh nonce for every value', () => {
    const enc = ring('k1');
    const a = enc.seal('same', 'aad');
    const b = enc.seal('same', 'aad');
    expect(a).not.toBe(b);
    expect(Buffer.from(a.split('.')[2]!, 'base64url').subarray(0, 12)).not.toEqual(Buffer.from(b.split('.')[2]!, 'base64url').subarray(0, 12));
  });

  it('refuses a value bound to another row or purpose', () => {
    const enc = ring('k1');
    const sealed = enc.seal('secret', 'row-1:pii');
    expect(() => enc.open(sealed, 'row-2:pii')).toThrow(FieldEncryptionError);
    expect(() => enc.open(sealed, 'row-1:other')).toThrow(FieldEncryptionError);
  });

  it('detects tampering with any byte of the ciphertext, nonce or tag', () => {
    const enc = ring('k1');
    const sealed = enc.seal('a value worth protecting', 'aad');
    const [v, kid, body] = sealed.split('.') as [string, string, string];
    const bytes = Buffer.from(body, 'base64url');
    for (const index of [0, 11, 12, bytes.length - 17, bytes.length - 1]) {
      const altered = Buffer.from(bytes);
      altered[index] = altered[index]! ^ 0x01;
      expect(() => enc.open(`${v}.${kid}.${altered.toString('base64url')}`, 'aad'), `byte ${index}`).toThrow(FieldEncryptionError);
    }
    expect(() => enc.open(`${v}.${kid}.${bytes.subarray(0, 20).toString('base64url')}`, 'aad')).toThrow(/truncated/);
    expect(() => enc.open('plain text', 'aad')).toThrow(/not a sealed value/);
  });

  it('refuses a ciphertext relabelled with another key id', () => {
    const same = ring('k1', { k1, k2: k1 });
    const sealed = same.seal('x', 'aad');
    expect(() => same.open(sealed.replace('.k1.', '.k2.'), 'aad')).toThrow(FieldEncryptionError);
  });

  it('rotates: new values use the active key, old ones open while their key is in the ring', () => {
    const before = ring('k1');
    const old = before.seal('old value', 'aad');
    const after = ring('k2');
    expect(after.open(old, 'aad')).toBe('old value');
    expect(after.needsRotation(old)).toBe(true);
    const resealed = after.seal(after.open(old, 'aad'), 'aad');
    expect(resealed.split('.')[1]).toBe('k2');
    expect(after.needsRotation(resealed)).toBe(false);
    const retired = ring('k2', { k2 });
    expect(() => retired.open(old, 'aad')).toThrow(/not in the key ring/);
    expect(retired.open(resealed, 'aad')).toBe('old value');
  });

  it('refuses bad key rings', () => {
    expect(() => ring('k3')).toThrow(/active key k3/);
    expect(() => ring('k1', { k1: randomBytes(16) })).toThrow(/32 bytes/);
  });
});

describe('parseKeyRing', () => {
  it('reads kid:base64 pairs and the active key id', () => {
    const parsed = parseKeyRing(` a:${k1.toString('base64')}, b:${k2.toString('base64url')} `, 'b');
    expect(parsed.activeKeyId).toBe('b');
    expect(parsed.keys.get('a')).toEqual(k1);
    expect(parsed.keys.get('b')).toEqual(k2);
  });

  it('names the problem without echoing key material', () => {
    const short = randomBytes(8).toString('base64');
    for (const [keys, active, message] of [
      ['', 'a', /no keys/],
      [`a:${short}`, 'a', /key a must be 32 bytes/],
      [`bad kid!:${k1.toString('base64')}`, 'a', /kid of/],
      [`a:${k1.toString('base64')},a:${k2.toString('base64')}`, 'a', /twice/],
      [`a:${k1.toString('base64')}`, 'b', /active key b/],
    ] as const) {
      let error: unknown;
      try {
        parseKeyRing(keys, active);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FieldEncryptionError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(short);
    }
  });
});
