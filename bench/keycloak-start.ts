// Measures the Keycloak process the stack runs: time to ready on a new database (schema creation)
// and on an existing one (a restart), and resident memory once ready. Not a test: numbers vary
// with the machine, so the restart is reported against the first start as a ratio.
//   node bench/keycloak-start.ts
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { ensureKeycloakDistribution, keycloakVersion, startKeycloak } from '../stack/keycloak.ts';
import { runDir } from '../stack/paths.ts';

const admin = process.env.POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const db = `bench_kc_${Date.now().toString(36)}`;
const sql = async (q: string) => {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(q);
  await c.end();
};

/** RSS of the JVM: kc.sh starts java as its child (or execs it). */
function rssMb(pid: number): number {
  const children = (() => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  })();
  const total = [pid, ...children].reduce((sum, p) => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
    return sum + (m ? Number(m[1]) : 0);
  }, 0);
  return Math.round(total / 1024);
}

const distribution = ensureKeycloakDistribution();
await sql(`CREATE DATABASE "${db}"`);
const results: { run: string; seconds: number; rssMb: number }[] = [];
try {
  for (const run of ['new database', 'restart']) {
    const started = Date.now();
    const kc = await startKeycloak({
      distribution,
      instanceDir: path.join(runDir, 'bench'),
      httpPort: 18480,
      managementPort: 19480,
      publicUrl: 'http://localhost:18480',
      databaseUrl: `postgres://postgres@127.0.0.1:5432/${db}`,
      adminUser: 'admin',
      adminPassword: 'admin',
      themeCaching: true,
    });
    const seconds = (Date.now() - started) / 1000;
    results.push({ run, seconds, rssMb: rssMb(kc.process.child.pid!) });
    await kc.stop();
  }
} finally {
  await sql(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
}
console.log(`Keycloak ${keycloakVersion()} (start --optimized, PostgreSQL)`);
for (const r of results) console.log(`  ${r.run.padEnd(13)} ready in ${r.seconds.toFixed(1)} s, RSS ${r.rssMb} MB`);
console.log(`  restart / first start: ${(results[1]!.seconds / results[0]!.seconds).toFixed(2)}`);
