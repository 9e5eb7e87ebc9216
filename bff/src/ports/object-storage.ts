/**
 * Object storage (S3 and what speaks its protocol): whole objects by key in one bucket. Profile
 * pictures live here (decision 0038). Every method throws DEPENDENCY_UNAVAILABLE when the store is
 * down or refuses; a missing object is `null` (get) or nothing to do (delete).
 */
export interface ObjectStorage {
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  get(key: string): Promise<{ body: Buffer; contentType: string } | null>;
  /** Deletes these keys; absent ones are no error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Deletes every object whose key starts with `prefix`; how many there were. */
  deletePrefix(prefix: string): Promise<number>;
  /** Keys starting with `prefix` (tests and the sweep; at most `max`). */
  list(prefix: string, max?: number): Promise<string[]>;
  ping(): Promise<void>;
}
