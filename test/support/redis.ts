import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A unique key prefix for one test file; `cleanup()` deletes every key under it. */
export function testKeyPrefix(label = 'test'): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `t:${label}:${randomBytes(4).toString('hex')}:`;
  return {
    prefix,
    async cleanup() {
      const redis = new Redis(redisUrl, { lazyConnect: true });
      await redis.connect();
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
