import type { FieldEncryption } from './field-encryption.ts';

/**
 * One kind of value the BFF keeps sealed at rest and reads back (decision 0022), bound to its record:
 * the associated data names the record (`partner-auth:<token hash>:pii`), so a ciphertext copied to
 * another record, or to another kind of value, does not open. This is the one way to seal such a
 * value; define one per kind of value next to the record it belongs to:
 *
 *   const piiSeal = bindSeal<Pii, [tokenId: string]>(encryption, 'json', (tokenId) => `partner-auth:${tokenId}:pii`);
 *   const sealed = piiSeal.seal(pii, tokenId);   // v1.<kid>.…
 *   const pii = piiSeal.open(sealed, tokenId);   // throws FieldEncryptionError anywhere else
 *
 * The associated data of a kind of value must never change once values are stored with it (they
 * would no longer open); `format` too: `json` values are `JSON.stringify`d, `text` ones sealed as
 * they are.
 */
export interface BoundSeal<T, TRecord extends unknown[]> {
  seal(value: T, ...record: TRecord): string;
  open(sealed: string, ...record: TRecord): T;
}

export function bindSeal<T, TRecord extends unknown[]>(encryption: FieldEncryption, format: 'json', aad: (...record: TRecord) => string): BoundSeal<T, TRecord>;
export function bindSeal<TRecord extends unknown[]>(
  encryption: FieldEncryption,
  format: 'text',
  aad: (...record: TRecord) => string,
): BoundSeal<string, TRecord>;
export function bindSeal(encryption: FieldEncryption, format: 'json' | 'text', aad: (...record: unknown[]) => string): BoundSeal<unknown, unknown[]> {
  if (format === 'text') {
    return {
      seal: (value, ...record) => encryption.seal(value as string, aad(...record)),
      open: (sealed, ...record) => encryption.open(sealed, aad(...record)),
    };
  }
  return {
    seal: (value, ...record) => encryption.seal(JSON.stringify(value), aad(...record)),
    open: (sealed, ...record) => JSON.parse(encryption.open(sealed, aad(...record))) as unknown,
  };
}
