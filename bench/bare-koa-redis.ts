// Baseline of bench/partner-api.ts: the least a token endpoint can do on this stack - a bare Koa app
// that stores a random token in Redis (with a TTL) and answers it as JSON. Run as its own process:
//   node bench/bare-koa-redis.ts <port> <redisUrl> <keyPrefix>
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import Koa from 'koa';
import { koaBody } from 'koa-body';

const [port, redisUrl, prefix] = process.argv.slice(2);
// Same client options as the BFF (bff/src/adapters/redis/redis-client.ts), so the comparison is fair.
const redis = new Redis(redisUrl ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true });
const app = new Koa();
app.use(koaBody());
app.use(async (ctx) => {
  const token = randomBytes(32).toString('base64url');
  await redis.set(`${prefix}${token}`, JSON.stringify(ctx.request.body ?? {}), 'PX', 900_000);
  ctx.status = 201;
  ctx.body = { authToken: token, expiresAt: new Date(Date.now() + 900_000).toISOString() };
});
app.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
