// Where the partner GET's own CPU goes (bench/partner-api.ts measures it whole): the enrollment step
// (Redis lock and read, opening the sealed snapshot, XState, Redis delete) run in this process against the machine's Redis, with
// the userToken effect swapped part by part. Keycloak is replaced by a local server that answers
// after KEYCLOAK_DELAY_MS (120), its pace in bench/partner-api.ts, so the BFF sees the same light load.
// 50 steps run at a time, like the bench's connections. Koa's request handling is not included.
//   node bench/partner-get-cost.ts
import { fork } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { fromPromise } from 'xstate';
import { AssertionUserTokens, p256PrivateKey, signEs256 } from '../bff/src/adapters/keycloak/assertion-user-tokens.ts';
import { connectRedis } from '../bff/src/adapters/redis/redis-client.ts';
import { RedisEphemeralStore } from '../bff/src/adapters/redis/redis-ephemeral-store.ts';
import { RedisFlowStore } from '../bff/src/adapters/redis/redis-flow-store.ts';
import { AUTH_TOKEN_KEYS, PartnerEnrollmentService } from '../bff/src/flows/partner-enrollment/service.ts';
import { PARTNER_ENROLLMENT_KIND, partnerEnrollmentMachine } from '../bff/src/flows/partner-enrollment/partner-enrollment.machine.ts';
import { FieldEncryption } from '../bff/src/kernel/crypto/field-encryption.ts';
import { FlowRuntime } from '../bff/src/kernel/flow/index.ts';
import type { PartnerStore } from '../bff/src/partners/partner-store.ts';
import { redisUrl, testKeyPrefix } from '../test/support/redis.ts';

const DELAY_MS = Number(process.env.KEYCLOAK_DELAY_MS ?? 120);
const STEPS = 3_000;
const CONCURRENCY = 50;

if (process.argv[2] === 'keycloak') {
  // A token endpoint answering a JWT-shaped access token the size of Keycloak's, after the delay.
  const payload = Buffer.from(JSON.stringify({ exp: 4_000_000_000, sub: 'user', act: { client_id: 'bench' }, filler: 'x'.repeat(1_000) })).toString(
    'base64url',
  );
  const body = JSON.stringify({ access_token: `eyJhbGciOiJSUzI1NiJ9.${payload}.c2ln`, expires_in: 300, token_type: 'Bearer' });
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.setHeader('content-type', 'application/json').end(body), DELAY_MS));
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port));
} else {
  const keycloak = fork(import.meta.filename, ['keycloak']);
  const port = await new Promise<number>((resolve) => keycloak.once('message', (m) => resolve(m as number)));
  const redis = await connectRedis(redisUrl);
  const keys = testKeyPrefix('bench-get-cost');
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const userTokens = new AssertionUserTokens({
    keycloakUrl: `http://127.0.0.1:${port}`,
    realm: 'bench',
    clientId: 'partner-user-tokens',
    clientSecret: 'bench-secret',
    privateKey: pem,
    keyId: 'bench',
    serviceAccountTokens: { accessToken: async () => '' } as never,
  });
  const key = p256PrivateKey(pem);
  const sleep = () => new Promise((resolve) => setTimeout(resolve, DELAY_MS));
  const token = { accessToken: 'token', expiresAt: new Date(4_000_000_000_000).toISOString() };
  const effects: Record<string, () => Promise<typeof token>> = {
    'wait only (Redis, XState)': async () => (await sleep(), token),
    '+ ES256 signature': async () => {
      signEs256({ alg: 'ES256', kid: 'bench', typ: 'JWT' }, { sub: 'user', jti: crypto.randomUUID() }, key);
      return (await sleep(), token);
    },
    'the real effect (signature + HTTP)': async () => {
      const t = await userTokens.issue('user', 'bench');
      return { accessToken: t.accessToken, expiresAt: t.expiresAt.toISOString() };
    },
  };
  const encryption = new FieldEncryption({ keys: new Map([['bench', randomBytes(32)]]), activeKeyId: 'bench' });
  const enrolled = { clientId: 'bench', clientEnabled: true, trustAuth: true, autoEnroll: true, kbaBypass: false, userId: 'user' };
  const request = { appKey: 'bench-app', dbpUserId: 'bench-user', pii: { firstName: 'Bench', lastName: 'User', dob: '1990-01-01' } };
  try {
    console.log(`partner GET step, ${CONCURRENCY} at a time, Keycloak answering after ${DELAY_MS} ms:`);
    // Two passes over the variants, the first unreported: it warms up (JIT) what they share.
    for (const [pass, [name, effect]] of [...Object.entries(effects), ...Object.entries(effects)].entries()) {
      const service = new PartnerEnrollmentService({
        runtime: new FlowRuntime({
          store: new RedisFlowStore({
            store: new RedisEphemeralStore({ redis, keyPrefix: keys.prefix }),
            keys: { [PARTNER_ENROLLMENT_KIND]: AUTH_TOKEN_KEYS },
          }),
          encryption,
          settleTimeoutMs: 30_000,
        }),
        machine: partnerEnrollmentMachine.provide({ actors: { issueUserToken: fromPromise(effect) } }),
        partners: { resolve: async () => enrolled } as unknown as PartnerStore,
        encryption,
        ttlSeconds: 900,
        kbaMaxAttempts: 3,
        kbaMaxStarts: 3,
        kbaStarts: {} as never,
      });
      const exchange = async (count: number) => {
        const pool: string[] = [];
        for (let i = 0; i < count; i++) pool.push((await service.authorize('bench', request)).authToken);
        const before = process.cpuUsage();
        const workers = Array.from({ length: CONCURRENCY }, async () => {
          for (let t = pool.pop(); t; t = pool.pop()) await service.step(t, (flow) => (flow.matches('enrolled') ? { type: 'EXCHANGE' } : null));
        });
        await Promise.all(workers);
        const used = process.cpuUsage(before);
        return (used.user + used.system) / count;
      };
      const cpu = await exchange(pass < Object.keys(effects).length ? 500 : STEPS);
      if (pass >= Object.keys(effects).length) console.log(`  ${name.padEnd(36)} ${cpu.toFixed(0).padStart(5)} µs of CPU per step`);
    }
  } finally {
    keycloak.kill();
    await keys.cleanup();
    redis.disconnect();
  }
}
