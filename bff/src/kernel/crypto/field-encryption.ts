import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { randomBytesPooled } from './random-bytes.ts';

/**
 * Authenticated encryption of single values at rest (PII, identifier handoffs): AES-256-GCM with a
 * fresh 96-bit nonce per value, and associated data that binds each ciphertext to where it belongs
 * (e.g. `partner-auth:<token hash>:pii`), so a ciphertext copied to another row or purpose fails to
 * open instead of decrypting there.
 *
 * Keys form a ring: every ciphertext names the key id that sealed it, new values are sealed with the
 * active key, and any key still in the ring opens old values. Rotation: add a key, make it active,
 * and drop the old one once nothing sealed with it can still be alive.
 *
 * Sealed format (ASCII, safe in JSON and Redis): `v1.<kid>.<base64url(nonce | ciphertext | tag)>`.
 */
const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KID = /^[A-Za-z0-9_-]{1,32}$/;

export class FieldEncryptionError extends Error {}

export interface FieldKeyRing {
  /** Key id -> 32-byte key. */
  keys: ReadonlyMap<string, Buffer>;
  activeKeyId: string;
}

export class FieldEncryption {
  /** KeyObjects made once: turning raw bytes into a key on every call costs more than the cipher. */
  readonly #keys: ReadonlyMap<string, KeyObject>;
  readonly #activeKeyId: string;

  constructor(ring: FieldKeyRing) {
    for (const [kid, key] of ring.keys) {
      if (!KID.test(kid)) throw new FieldEncryptionError(`key id "${kid}" must be 1-32 of A-Z a-z 0-9 _ -`);
      if (key.length !== KEY_BYTES) throw new FieldEncryptionError(`key ${kid} must be ${KEY_BYTES} bytes`);
    }
    if (!ring.keys.has(ring.activeKeyId)) throw new FieldEncryptionError(`the active key ${ring.activeKeyId} is not in the key ring`);
    this.#keys = new Map([...ring.keys].map(([kid, key]) => [kid, createSecretKey(key)]));
    this.#activeKeyId = ring.activeKeyId;
  }

  /** Seals `plaintext` with the active key, bound to `aad` (the same `aad` is needed to open it). */
  seal(plaintext: string, aad: string): string {
    const nonce = randomBytesPooled(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#activeKeyId)!, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(this.#activeKeyId, aad));
    const body = Buffer.concat([nonce, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${this.#activeKeyId}.${body.toString('base64url')}`;
  }

  /** Opens a sealed value; throws FieldEncryptionError when it was altered, bound elsewhere or its key is gone. */
  open(sealed: string, aad: string): string {
    const [version, kid, encoded, ...rest] = sealed.split('.');
    if (version !== VERSION || kid === undefined || encoded === undefined || rest.length > 0) {
      throw new FieldEncryptionError('not a sealed value');
    }
    const key = this.#keys.get(kid);
    if (!key) throw new FieldEncryptionError(`sealed with key ${kid}, which is not in the key ring`);
    const body = Buffer.from(encoded, 'base64url');
    if (body.length < NONCE_BYTES + TAG_BYTES) throw new FieldEncryptionError('sealed value is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(kid, aad));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new FieldEncryptionError('sealed value failed authentication (altered, or bound to another purpose)');
    }
  }

  /** The key id new values are sealed with (`v1.<kid>.…`), e.g. to find values still sealed with another. */
  get activeKeyId(): string {
    return this.#activeKeyId;
  }

  /** True when `sealed` was made with another key than the active one (re-seal it to finish a rotation). */
  needsRotation(sealed: string): boolean {
    return sealed.split('.')[1] !== this.#activeKeyId;
  }
}

/** The key id is authenticated too: a ciphertext relabelled with another kid cannot open. */
const additionalData = (kid: string, aad: string) => Buffer.from(`${VERSION}\u0000${kid}\u0000${aad}`, 'utf8');

/**
 * Parses `kid1:base64key,kid2:base64key` (standard or url-safe base64 of 32 bytes each). Messages name
 * key ids and problems, never key material.
 */
export function parseKeyRing(keys: string, activeKeyId: string): FieldKeyRing {
  const ring = new Map<string, Buffer>();
  for (const entry of keys
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const colon = entry.indexOf(':');
    const kid = colon > 0 ? entry.slice(0, colon) : '';
    if (!KID.test(kid)) throw new FieldEncryptionError('each key must be <kid>:<base64 key> with a kid of 1-32 of A-Z a-z 0-9 _ -');
    if (ring.has(kid)) throw new FieldEncryptionError(`key id ${kid} appears twice`);
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (key.length !== KEY_BYTES) throw new FieldEncryptionError(`key ${kid} must be ${KEY_BYTES} bytes of base64`);
    ring.set(kid, key);
  }
  if (ring.size === 0) throw new FieldEncryptionError('no keys given');
  if (!ring.has(activeKeyId)) throw new FieldEncryptionError(`the active key ${activeKeyId} is not in the key ring`);
  return { keys: ring, activeKeyId };
}
