import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cacheDir, repoRoot, themesDir } from './paths.ts';
import { httpOk, startProcess, waitFor, type ManagedProcess } from './processes.ts';

/** The one pin of the Keycloak version lives in keycloak/pom.xml (docker-compose.yml is checked against it). */
export function keycloakVersion(): string {
  const pom = readFileSync(path.join(repoRoot, 'keycloak', 'pom.xml'), 'utf8');
  const match = /<keycloak\.version>([^<]+)<\/keycloak\.version>/.exec(pom);
  if (!match?.[1]) throw new Error('keycloak/pom.xml has no <keycloak.version>');
  return match[1];
}

/**
 * Build-time options, baked into the distribution by `kc.sh build` so that every start can be
 * `start --optimized` (about 10 s instead of 40 s for `start-dev`, which re-augments each time).
 */
export const BUILD_OPTIONS = ['--db=postgres', '--health-enabled=true', '--metrics-enabled=true'];

const KEYCLOAK_DIR = path.join(cacheDir, 'keycloak');

/** Downloads (Maven, with its progress output), extracts and builds the pinned distribution once. */
export function ensureKeycloakDistribution(log: (line: string) => void = console.log): string {
  const version = keycloakVersion();
  const archive = path.join(KEYCLOAK_DIR, `keycloak-quarkus-dist-${version}.tar.gz`);
  const dist = path.join(KEYCLOAK_DIR, `dist-${version}`);
  mkdirSync(KEYCLOAK_DIR, { recursive: true });
  checkJava();

  if (!existsSync(archive)) {
    log(`==> downloading Keycloak ${version} from Maven Central (org.keycloak:keycloak-quarkus-dist, ~175 MB)`);
    const mvn = spawnSync(
      'mvn',
      [
        '-N', // the parent only: its modules (the providers) are not needed for a download
        '-f',
        path.join(repoRoot, 'keycloak', 'pom.xml'),
        'dependency:copy',
        `-Dartifact=org.keycloak:keycloak-quarkus-dist:${version}:tar.gz`,
        `-DoutputDirectory=${KEYCLOAK_DIR}`,
      ],
      { stdio: 'inherit' },
    );
    if (mvn.status !== 0 || !existsSync(archive)) throw new Error('Keycloak download with Maven failed (see output above)');
  }

  if (!existsSync(path.join(dist, 'bin', 'kc.sh'))) {
    log(`==> extracting Keycloak ${version}`);
    rmSync(dist, { recursive: true, force: true });
    const tmp = `${dist}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    execFileSync('tar', ['xzf', archive, '-C', tmp, '--strip-components=1']);
    execFileSync('mv', [tmp, dist]);
  }

  buildProviders(log);
  const providers = providerJars();
  const buildKey = createHash('sha256')
    .update(JSON.stringify(BUILD_OPTIONS))
    .update(providers.map((p) => `${path.basename(p)}:${createHash('sha256').update(readFileSync(p)).digest('hex')}`).join(','))
    .digest('hex');
  // One built copy per providers build, never rebuilt in place: a Keycloak still running from an
  // older build (another stack, a developer's npm start) keeps its files while the providers change.
  const built = path.join(KEYCLOAK_DIR, `built-${version}-${buildKey.slice(0, 16)}`);
  if (!existsSync(path.join(built, '.project-build'))) {
    log(`==> building Keycloak ${version} for PostgreSQL with the project's providers (about 40 s)`);
    const tmp = `${built}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    execFileSync('cp', ['-a', dist, tmp]);
    for (const f of readdirSync(path.join(tmp, 'providers'))) if (f.endsWith('.jar')) rmSync(path.join(tmp, 'providers', f));
    for (const jar of providers) execFileSync('cp', [jar, path.join(tmp, 'providers')]);
    const build = spawnSync(path.join(tmp, 'bin', 'kc.sh'), ['build', ...BUILD_OPTIONS], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`kc.sh build failed:\n${build.stdout}\n${build.stderr}`);
    writeFileSync(path.join(tmp, '.project-build'), buildKey);
    if (existsSync(path.join(built, '.project-build'))) rmSync(tmp, { recursive: true, force: true });
    else execFileSync('mv', ['-T', tmp, built]);
  }
  // Older builds go (instances run from hard-linked copies of their own, so nothing running loses a file).
  const builds = readdirSync(KEYCLOAK_DIR)
    .filter((f) => f.startsWith(`built-${version}-`) && !f.includes('.tmp-') && path.join(KEYCLOAK_DIR, f) !== built)
    .map((f) => path.join(KEYCLOAK_DIR, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const old of builds.slice(2)) rmSync(old, { recursive: true, force: true });
  return built;
}

const PROVIDERS_MODULE = path.join(repoRoot, 'keycloak', 'providers');

/** Provider jars built by the project's Maven module `keycloak/providers`. */
function providerJars(): string[] {
  const dir = path.join(PROVIDERS_MODULE, 'target');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jar') && !f.endsWith('-sources.jar'))
    .map((f) => path.join(dir, f));
}

/**
 * `mvn package` of keycloak/providers when a source or a pom is newer than its jar, so `npm start`
 * and the test stacks always run the current provider code. Quiet: Maven's report would end with
 * Surefire's "No tests to run.", which CI's log reader takes for the test run's verdict.
 */
function buildProviders(log: (line: string) => void): void {
  if (!existsSync(path.join(PROVIDERS_MODULE, 'pom.xml'))) return;
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  const sources = [path.join(repoRoot, 'keycloak', 'pom.xml'), path.join(PROVIDERS_MODULE, 'pom.xml'), ...files(path.join(PROVIDERS_MODULE, 'src'))];
  const newestSource = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  const jar = providerJars()[0];
  if (jar && statSync(jar).mtimeMs >= newestSource) return;

  log(
    `==> building the Keycloak providers (keycloak/providers) with Maven${jar ? '' : ' (the first build downloads the Keycloak libraries; a minute or two)'}`,
  );
  const mvn = spawnSync('mvn', ['-q', '-f', path.join(repoRoot, 'keycloak', 'pom.xml'), 'package'], { stdio: 'inherit' });
  const built = providerJars();
  if (mvn.status !== 0 || built.length === 0) throw new Error('Maven build of keycloak/providers failed (see output above)');
  // The jar plugin leaves an up-to-date jar untouched (e.g. after a pom-only edit): mark it current.
  const now = new Date();
  for (const j of built) utimesSync(j, now, now);
}

function checkJava(): void {
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const res = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const match = /version "(\d+)/.exec(`${res.stderr}${res.stdout}`);
  if (res.status !== 0 || !match?.[1] || Number(match[1]) < 17) {
    throw new Error('Keycloak needs Java 17 or newer: install a JDK (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME');
  }
}

export interface KeycloakOptions {
  /** The built distribution, from `ensureKeycloakDistribution()`. */
  distribution: string;
  /** Instance folder (a hard-linked copy of the built distribution, logs). */
  instanceDir: string;
  httpPort: number;
  managementPort: number;
  /** Public base URL, e.g. http://localhost:8080: fixes the token issuer whatever host a caller uses. */
  publicUrl: string;
  databaseUrl: string; // postgres://user@host:port/db
  adminUser: string;
  adminPassword: string;
  /** Dev: templates and CSS are re-read on every request. */
  themeCaching: boolean;
  /**
   * Where the `platform-bff-check`, `platform-state-claim`, `platform-upstream-password`,
   * `platform-upstream-reset`, `platform-reset-credential` and `platform-sign-up-ticket` authenticators
   * (keycloak/providers) reach the BFF, and the shared secret.
   */
  bffCheck?: { url: string; secret: string };
}

export interface KeycloakInstance {
  url: string;
  managementUrl: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startKeycloak(opts: KeycloakOptions): Promise<KeycloakInstance> {
  const home = path.join(opts.instanceDir, 'keycloak');
  // A hard-linked copy is instant and gives each instance its own data/ folder (transaction logs,
  // tmp) while sharing the built distribution.
  rmSync(home, { recursive: true, force: true });
  mkdirSync(opts.instanceDir, { recursive: true });
  execFileSync('cp', ['-al', opts.distribution, home]);
  rmSync(path.join(home, 'data'), { recursive: true, force: true });
  for (const theme of readdirSync(themesDir, { withFileTypes: true })) {
    if (theme.isDirectory()) symlinkSync(path.join(themesDir, theme.name), path.join(home, 'themes', theme.name));
  }

  const db = new URL(opts.databaseUrl);
  const args = [
    'start',
    '--optimized',
    '--http-enabled=true',
    `--http-port=${opts.httpPort}`,
    `--http-management-port=${opts.managementPort}`,
    '--http-host=127.0.0.1',
    `--hostname=${opts.publicUrl}`,
    '--hostname-backchannel-dynamic=true',
    `--db-url=jdbc:postgresql://${db.hostname}:${db.port || 5432}${db.pathname}`,
    `--db-username=${decodeURIComponent(db.username) || 'postgres'}`,
    `--db-password=${decodeURIComponent(db.password) || 'unused-with-trust-auth'}`,
    '--cache=local',
    '--log-console-output=json',
    '--log-level=info',
    ...(opts.themeCaching ? [] : ['--spi-theme--cache-themes=false', '--spi-theme--cache-templates=false', '--spi-theme--static-max-age=-1']),
  ];
  const proc = startProcess({
    name: 'keycloak',
    command: path.join(home, 'bin', 'kc.sh'),
    args,
    logFile: path.join(opts.instanceDir, 'keycloak.log'),
    env: {
      KC_BOOTSTRAP_ADMIN_USERNAME: opts.adminUser,
      KC_BOOTSTRAP_ADMIN_PASSWORD: opts.adminPassword,
      JAVA_OPTS_KC_HEAP: process.env.KEYCLOAK_HEAP ?? '-Xms128m -Xmx768m',
      // Environment, not command line: the secret stays out of process listings.
      ...(opts.bffCheck
        ? {
            KC_SPI_AUTHENTICATOR__PLATFORM_BFF_CHECK__URL: opts.bffCheck.url,
            KC_SPI_AUTHENTICATOR__PLATFORM_BFF_CHECK__SECRET: opts.bffCheck.secret,
            // The state claim authenticator (docs/decisions/0011) talks to the same BFF with the same secret.
            KC_SPI_AUTHENTICATOR__PLATFORM_STATE_CLAIM__URL: opts.bffCheck.url,
            KC_SPI_AUTHENTICATOR__PLATFORM_STATE_CLAIM__SECRET: opts.bffCheck.secret,
            // Lazy migration from the upstream core (docs/decisions/0012): the same BFF, the same secret.
            KC_SPI_AUTHENTICATOR__PLATFORM_UPSTREAM_PASSWORD__URL: opts.bffCheck.url,
            KC_SPI_AUTHENTICATOR__PLATFORM_UPSTREAM_PASSWORD__SECRET: opts.bffCheck.secret,
            KC_SPI_AUTHENTICATOR__PLATFORM_UPSTREAM_RESET__URL: opts.bffCheck.url,
            KC_SPI_AUTHENTICATOR__PLATFORM_UPSTREAM_RESET__SECRET: opts.bffCheck.secret,
            // Forgot password by SMS code (docs/decisions/0028) and sign-up ending signed in (0027).
            KC_SPI_AUTHENTICATOR__PLATFORM_RESET_CREDENTIAL__URL: opts.bffCheck.url,
            KC_SPI_AUTHENTICATOR__PLATFORM_RESET_CREDENTIAL__SECRET: opts.bffCheck.secret,
            KC_SPI_AUTHENTICATOR__PLATFORM_SIGN_UP_TICKET__URL: opts.bffCheck.url,
            KC_SPI_AUTHENTICATOR__PLATFORM_SIGN_UP_TICKET__SECRET: opts.bffCheck.secret,
          }
        : {}),
    },
  });
  const url = `http://127.0.0.1:${opts.httpPort}`;
  const managementUrl = `http://127.0.0.1:${opts.managementPort}`;
  try {
    await waitFor('Keycloak', () => httpOk(`${managementUrl}/health/ready`), {
      // A first start creates the schema; on a loaded machine that can take longer (KEYCLOAK_READY_TIMEOUT_MS).
      timeoutMs: Number(process.env.KEYCLOAK_READY_TIMEOUT_MS ?? 180_000),
      intervalMs: 1000,
      abortIf: () => (proc.child.exitCode !== null ? `exited with ${proc.child.exitCode}; see ${proc.logFile}` : undefined),
    });
    await waitFor('Keycloak master realm', () => httpOk(`${url}/realms/master/.well-known/openid-configuration`), {
      timeoutMs: 60_000,
    });
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { url, managementUrl, process: proc, stop: () => proc.stop() };
}
