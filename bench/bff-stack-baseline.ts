// Third point of bench/partner-api.ts: the BFF's own HTTP stack (createApp: request ids, access log,
// metrics, problem+json, body parsing) around a route that only stores a
// random token in Redis, like the bare baseline. POST minus this is what the partner flow costs; this
// minus the bare baseline is what the shared HTTP stack costs.
//   node bench/bff-stack-baseline.ts <port> <redisUrl> <keyPrefix>
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Router from '@koa/router';
import { Redis } from 'ioredis';
import { createApp } from '../bff/src/http/app.ts';
import { loadOpenApi } from '../bff/src/http/openapi.ts';
import { createLogger } from '../bff/src/kernel/logger.ts';

const [port, redisUrl, prefix] = process.argv.slice(2);
// Same client options as the BFF (bff/src/adapters/redis/redis-client.ts), so the comparison is fair.
const redis = new Redis(redisUrl ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true });
const router = new Router();
router.post('/token', async (ctx) => {
  const token = randomBytes(32).toString('base64url');
  await redis.set(`${prefix}${token}`, JSON.stringify(ctx.request.body ?? {}), 'PX', 900_000);
  ctx.status = 201;
  ctx.body = { authToken: token, expiresAt: new Date(Date.now() + 900_000).toISOString() };
});
const app = createApp({
  logger: createLogger({ level: 'warn' }),
  readiness: [],
  readinessTimeoutMs: 1000,
  openApi: loadOpenApi(),
  routers: [router],
});
createServer(app.callback()).listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
