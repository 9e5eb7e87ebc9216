/**
 * A value read from elsewhere (the realm's password policy, its user types) kept `cacheMs`, so an
 * administrator's change applies within that time and a burst of requests costs one read. While the
 * source cannot be read, the last value read is used; before any was read, the failure is the caller's.
 */
export class CachedRead<T> {
  readonly #read: () => Promise<T>;
  readonly #cacheMs: number;
  readonly #now: () => number;
  #cached: { value: T; at: number } | undefined;
  #reading: Promise<T> | undefined;

  constructor(deps: { read: () => Promise<T>; cacheMs?: number; now?: () => number }) {
    this.#read = deps.read;
    this.#cacheMs = deps.cacheMs ?? 60_000;
    this.#now = deps.now ?? Date.now;
  }

  async current(): Promise<T> {
    const cached = this.#cached;
    if (cached && this.#now() - cached.at < this.#cacheMs) return cached.value;
    this.#reading ??= this.#read()
      .then((value) => {
        this.#cached = { value, at: this.#now() };
        return value;
      })
      .catch((err: unknown) => {
        if (cached) return cached.value;
        throw err;
      })
      .finally(() => {
        this.#reading = undefined;
      });
    return this.#reading;
  }
}
