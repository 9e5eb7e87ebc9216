import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * `size` bytes from the CSPRNG, drawn from a pool refilled 4 KiB at a time: `crypto.randomBytes` costs
 * about 2 µs of CPU per call whatever the size, and the hot partner POST needs two (its authToken, the
 * nonce sealing its flow). Node caches random data for `randomUUID` the same way. Every byte is
 * handed out once, as a copy; large requests bypass the pool.
 */
export function randomBytesPooled(size: number): Buffer {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`size must be a whole number of bytes, got ${size}`);
  if (size > 256) return randomFillSync(Buffer.alloc(size));
  if (offset + size > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_BYTES));
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + size));
  // Handed out: not kept in memory longer than needed.
  pool.fill(0, offset, offset + size);
  offset += size;
  return bytes;
}
