// Speed of the partner API (seed 003) against baselines measured in the same run, on this machine:
//   POST /api/auth/v1 for an enrolled user   vs  a bare Koa endpoint storing a random token in Redis
//   GET  /api/auth/v1/{authToken} (enrolled)  vs  Keycloak's token endpoint for the same grant
//                                                 (JWT authorization grant of partner-user-tokens)
// A third point, the BFF's own HTTP stack around the same Redis SET (bench/bff-stack-baseline.ts),
// splits the POST's cost between the shared HTTP stack and the partner flow.
// Targets (issue 5): POST >= 50 % of the bare baseline's requests/s with p99 < 15 ms at 50
// connections; GET >= 90 % of Keycloak's own throughput. Not a test: it prints numbers.
//
//   npm run bench:partner                                  own stack (like npm test), removed after
//   E2E_STACK_FILE=.run/e2e-shared.json npm run bench:partner   reuse a running test stack
// Knobs: BENCH_DURATION_S (10) per run, BENCH_ROUNDS (3) alternating baseline/subject rounds whose
// medians are reported, BENCH_TOKENS (6000) authTokens and assertions per GET round,
// BENCH_CPU_PROFILE=<dir> for a V8 CPU profile of the BFF.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { ASSERTION_ISSUER, p256PrivateKey, signEs256 } from '../bff/src/adapters/keycloak/assertion-user-tokens.ts';
import { buildPartnerAdmin } from '../bff/src/composition-root.ts';
import { loadConfig } from '../bff/src/config.ts';
import { migrateUp } from '../bff/src/persistence/migrate.ts';
import { createOrm } from '../bff/src/persistence/orm.ts';
import { bffEnv } from '../stack/stack.ts';
import { cpuSnapshot, formatCpu, perRequest, type CpuGroups } from './cpu.ts';
import { startE2EStack, type E2EStack } from '../test/setup/stack.ts';
import { freePort } from '../test/support/ports.ts';
import { testKeyPrefix } from '../test/support/redis.ts';

const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const repo = path.resolve(import.meta.dirname, '..');

function startChild(args: string[], env: Record<string, string>, readyUrl?: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
    if (!readyUrl) {
      child.stdout!.once('data', () => resolve(child));
      return;
    }
    child.stdout!.resume();
    const poll = async () => {
      try {
        if ((await fetch(readyUrl)).ok) return resolve(child);
      } catch {
        // not listening yet
      }
      setTimeout(poll, 200);
    };
    void poll();
  });
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU time the server process spent per request (µs): comparable even on a busy machine. */
  cpuUsPerRequest: number | undefined;
  /** µs of CPU per request by process group (bench/cpu.ts). */
  cpu: CpuGroups;
}

async function load(opts: autocannon.Options, server?: ChildProcess): Promise<Run> {
  const before = cpuSnapshot({ server: server?.pid }, keycloakPort);
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...opts });
  const cpu = perRequest(before, cpuSnapshot({ server: server?.pid }, keycloakPort), result.requests.total);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuUsPerRequest: server ? cpu.server : undefined,
    cpu,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const medianRun = (runs: Run[]): Run => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
  errors: runs.reduce((n, r) => n + r.errors, 0),
  cpuUsPerRequest: runs.some((r) => r.cpuUsPerRequest === undefined) ? undefined : median(runs.map((r) => r.cpuUsPerRequest!)),
  cpu: Object.fromEntries(Object.keys(runs[0]!.cpu).map((k) => [k, median(runs.map((r) => r.cpu[k]!))])),
});
const rounds = (runs: Run[]) => runs.map((r) => r.rps.toFixed(0)).join(' ');

async function json(url: string, init: RequestInit): Promise<Record<string, any>> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, any>;
}

// ------------------------------------------------------------------------------------------ setup
let stack: E2EStack;
let teardown = async () => {};
if (process.env.E2E_STACK_FILE) {
  stack = JSON.parse(readFileSync(process.env.E2E_STACK_FILE, 'utf8')) as E2EStack;
} else {
  ({ stack, teardown } = await startE2EStack());
}
const keycloakPort = stack.settings.keycloakPort;
const keys = testKeyPrefix(`bench-${randomBytes(3).toString('hex')}`);
const children: ChildProcess[] = [];
try {
  const bffPort = await freePort();
  // NODE_ENV=test: production refuses the stack's development secrets.
  const env = { ...bffEnv(stack.settings, stack.upstreamUrl), NODE_ENV: 'test', LOG_LEVEL: 'warn', BFF_PORT: String(bffPort), REDIS_PREFIX: keys.prefix };
  const config = loadConfig(env);
  const orm = await createOrm({ databaseUrl: config.databaseUrl });
  await migrateUp(orm);
  await orm.close();

  const bffUrl = `http://127.0.0.1:${bffPort}`;
  // BENCH_CPU_PROFILE=<dir>: the BFF writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : [];
  const bffProcess = await startChild([...profile, path.join(repo, 'bff/src/main.ts')], env, `${bffUrl}/healthz`);
  children.push(bffProcess);
  const barePort = await freePort();
  const bareProcess = await startChild([path.join(repo, 'bench/bare-koa-redis.ts'), String(barePort), stack.settings.redisUrl, `${keys.prefix}bare:`], {});
  children.push(bareProcess);
  const stackPort = await freePort();
  const stackProcess = await startChild(
    [path.join(repo, 'bench/bff-stack-baseline.ts'), String(stackPort), stack.settings.redisUrl, `${keys.prefix}stack:`],
    {},
  );
  children.push(stackProcess);

  // A trusted partner with an autoEnroll appKey, and one enrolled DBP user.
  const { admin, close } = await buildPartnerAdmin(config);
  const clientId = `bench-${randomBytes(3).toString('hex')}`;
  const appKey = `${clientId}-app`;
  const { clientSecret } = await admin.register({ clientId, name: 'Bench Bank', trustAuth: true, appKeys: [{ appKey, autoEnroll: true, kbaBypass: false }] });
  await close();
  const tokenUrl = `${stack.keycloakUrl}/realms/${stack.settings.platformRealm}/protocol/openid-connect/token`;
  const serverToken = (
    await json(tokenUrl, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret! }),
    })
  ).access_token as string;
  const dbpUserId = 'bench-user-1';
  const body = JSON.stringify({ appKey, dbpUserId, pii: { firstName: 'Bench', lastName: 'User', dob: '1990-01-01', email: `${clientId}@bench.example` } });
  const headers = { authorization: `Bearer ${serverToken}`, 'content-type': 'application/json' };
  const first = await json(`${bffUrl}/api/auth/v1`, { method: 'POST', headers, body });
  const userToken = (await json(`${bffUrl}/api/auth/v1/${first.authToken}`, { method: 'GET' })).userToken as string;
  const userId = JSON.parse(Buffer.from(userToken.split('.')[1]!, 'base64url').toString()).sub as string;

  // Warm-up (JIT, connection pools, JWKS), not measured.
  await load({ url: `${bffUrl}/api/auth/v1`, method: 'POST', headers, body, duration: 2 });
  await load({ url: `http://127.0.0.1:${barePort}/`, method: 'POST', headers: { 'content-type': 'application/json' }, body, duration: 2 });

  // ------------------------------------------------------------------------------------- POST
  // Rounds alternate baseline and subject, so a busy moment of the machine hits both alike.
  const bares: Run[] = [];
  const stacks: Run[] = [];
  const posts: Run[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    bares.push(await load({ url: `http://127.0.0.1:${barePort}/`, method: 'POST', headers: { 'content-type': 'application/json' }, body }, bareProcess));
    stacks.push(
      await load({ url: `http://127.0.0.1:${stackPort}/token`, method: 'POST', headers: { 'content-type': 'application/json' }, body }, stackProcess),
    );
    posts.push(await load({ url: `${bffUrl}/api/auth/v1`, method: 'POST', headers, body }, bffProcess));
  }

  // -------------------------------------------------------------------------------------- GET
  // Each authToken is exchanged once, so the GET runs need as many fresh ones as they can use.
  const pool: string[] = [];
  const perRound = Number(process.env.BENCH_TOKENS ?? 6_000);
  await autocannon({
    url: `${bffUrl}/api/auth/v1`,
    method: 'POST',
    headers,
    body,
    connections: CONNECTIONS,
    amount: perRound * (ROUNDS + 1),
    setupClient: (client) => client.on('body', (b: Buffer) => pool.push(JSON.parse(b.toString()).authToken)),
  });
  const key = p256PrivateKey(config.partnerAssertionKey);
  const audience = `${stack.keycloakUrl}/realms/${stack.settings.platformRealm}`;
  // The same assertion the BFF signs for a GET; fresh for each round (Keycloak accepts at most 60 s).
  const signAssertions = () =>
    Array.from({ length: perRound }, () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: ASSERTION_ISSUER, sub: userId, aud: audience, iat: now, exp: now + 55, jti: randomUUID() };
      return signEs256({ alg: 'ES256', kid: config.partnerAssertionKeyId, typ: 'JWT' }, claims, key);
    });
  const keycloaks: Run[] = [];
  const gets: Run[] = [];
  let exhausted = false;
  // Round -1 warms Keycloak's JWT grant path (its JIT) and the BFF's GET path, not measured: without it
  // Keycloak's first measured round ran at about two thirds of its later ones, skewing the median.
  for (let round = -1; round < ROUNDS; round++) {
    const warmUp = round < 0;
    const assertions = signAssertions();
    (warmUp ? [] : keycloaks).push(
      await load({
        ...(warmUp ? { duration: 5 } : {}),
        url: tokenUrl,
        method: 'POST',
        requests: [
          {
            setupRequest: (req) => ({
              ...req,
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({
                grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
                assertion: assertions.pop() ?? 'exhausted',
                client_id: config.partnerUserTokenClientId,
                client_secret: config.partnerUserTokenClientSecret,
              }).toString(),
            }),
          },
        ],
      }),
    );
    exhausted ||= assertions.length === 0;
    (warmUp ? [] : gets).push(
      await load(
        {
          ...(warmUp ? { duration: 5 } : {}),
          url: bffUrl,
          method: 'GET',
          requests: [{ setupRequest: (req) => ({ ...req, path: `/api/auth/v1/${pool.pop() ?? 'exhausted'}` }) }],
        },
        bffProcess,
      ),
    );
    exhausted ||= pool.length === 0;
  }
  const [bare, bffStack, post, keycloak, get] = [bares, stacks, posts, keycloaks, gets].map(medianRun) as [Run, Run, Run, Run, Run];
  // Keycloak's pace keeps the BFF lightly loaded during the GET, where Node's fixed cost per request is
  // higher than flat out: the bare endpoint at the GET's rate is the fair yardstick for its CPU.
  const bareAtGetRate = await load(
    { url: `http://127.0.0.1:${barePort}/`, method: 'POST', headers: { 'content-type': 'application/json' }, body, overallRate: Math.round(get.rps) },
    bareProcess,
  );

  // ------------------------------------------------------------------------------------ report
  const row = (name: string, r: Run) =>
    `${name.padEnd(44)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${String(r.p50).padStart(4)} ms   p99 ${String(r.p99).padStart(4)} ms   ` +
    `non-2xx ${r.non2xx}   errors ${r.errors}${r.cpuUsPerRequest === undefined ? '' : `   server CPU ${r.cpuUsPerRequest.toFixed(0)} µs/request`}`;
  console.log(`\npartner API, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_S} s each (medians), this machine:`);
  console.log(row('bare Koa + Redis SET (baseline)', bare));
  console.log(row("the BFF's HTTP stack + Redis SET (reference)", bffStack));
  console.log(row('POST /api/auth/v1 (enrolled user)', post));
  console.log(row('Keycloak token endpoint, JWT grant (baseline)', keycloak));
  console.log(row('GET /api/auth/v1/{authToken} (enrolled user)', get));
  console.log(row("bare Koa + Redis SET at the GET's rate", bareAtGetRate));
  const postRatio = post.rps / bare.rps;
  const getRatio = get.rps / keycloak.rps;
  console.log(
    `\nPOST: ${(postRatio * 100).toFixed(0)} % of the bare baseline (target >= 50 %), p99 ${post.p99} ms (target < 15 ms): ${postRatio >= 0.5 && post.p99 < 15 ? 'met' : 'NOT met'}`,
  );
  console.log(`GET:  ${(getRatio * 100).toFixed(0)} % of Keycloak's own throughput (target >= 90 %): ${getRatio >= 0.9 ? 'met' : 'NOT met'}`);
  console.log(
    `rounds (req/s): bare ${rounds(bares)} | BFF stack ${rounds(stacks)} | POST ${rounds(posts)} | Keycloak ${rounds(keycloaks)} | GET ${rounds(gets)}`,
  );
  console.log('CPU µs per request by process (machine = all busy time, 2 cores):');
  for (const [name, r] of [
    ['bare', bare],
    ['BFF stack', bffStack],
    ['POST', post],
    ['Keycloak grant', keycloak],
    ['GET', get],
    ['bare, GET rate', bareAtGetRate],
  ] as const) {
    console.log(`  ${name.padEnd(15)} ${formatCpu(r.cpu)}`);
  }
  // The same comparison as CPU budgets, which do not depend on who else runs on the cores.
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || !b ? 'n/a' : (a / b).toFixed(1));
  console.log(
    `BFF CPU per POST: ${ratio(post.cpuUsPerRequest, bare.cpuUsPerRequest)}× the bare baseline's, ${ratio(post.cpuUsPerRequest, bffStack.cpuUsPerRequest)}× the BFF-stack reference's`,
  );
  console.log(
    `BFF CPU per GET: ${ratio(get.cpuUsPerRequest, bareAtGetRate.cpuUsPerRequest)}× the bare baseline's at the same rate, ${((get.cpuUsPerRequest! / keycloak.cpu.keycloak!) * 100).toFixed(0)} % of Keycloak's CPU per grant (baseline run); Keycloak's CPU per grant in the GET run: ${((get.cpu.keycloak! / keycloak.cpu.keycloak!) * 100).toFixed(0)} % of the baseline run's`,
  );
  if (exhausted) console.log('(tokens ran out in a round: raise BENCH_TOKENS)');
} finally {
  for (const c of children) {
    c.kill('SIGTERM');
    if (c.exitCode === null) await new Promise((resolve) => c.once('exit', resolve));
  }
  await keys.cleanup();
  await teardown();
}
