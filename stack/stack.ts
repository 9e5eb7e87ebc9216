import path from 'node:path';
import { startInbox, type Inbox } from './inbox.ts';
import { startObjectStore, type ObjectStore } from './object-storage.ts';
import { ensureKeycloakDistribution, startKeycloak, type KeycloakInstance } from './keycloak.ts';
import { realmConfigDir, repoRoot, runDir } from './paths.ts';
import { ensureDatabase } from '../bff/src/persistence/ensure-database.ts';
import { ensurePortalBuilt } from '../portal/build.ts';
import { DEMO_PARTNER, demoAppKeyArgs, demoFrameOrigins } from './partner-demo/demo-partner.ts';
import { assertPortFree, checkPostgres, checkRedis } from './preflight.ts';
import { httpOk, onStopEverything, startProcess, waitFor, type ManagedProcess } from './processes.ts';
import { applyRealmConfig, type Change } from './realm/apply.ts';
import { realmEnv, type StackSettings } from './settings.ts';

/**
 * Brings up what the platform needs around the BFF, in dependency order: the dev inbox (SMTP + SMS
 * sink), the reference upstream core, Keycloak with the realm configuration applied, and (for
 * `npm start`) the BFF itself. `npm start` and the end-to-end tests share this; they differ in
 * settings (ports, databases, key prefix) only.
 */
export interface RunningStack {
  settings: StackSettings;
  inbox: Inbox;
  /** The S3-protocol server keeping profile pictures (s3rver; decision 0038). */
  objectStore?: ObjectStore;
  upstreamUrl: string;
  keycloak: KeycloakInstance;
  realmChanges: Change[];
  bff?: { url: string; process: ManagedProcess };
  /** The demo partner's page (with `demo` and the BFF). */
  partnerDemoUrl?: string;
  /** The stand-in state portal's page of sign-in links (with the BFF; stack/state-portal, decision 0039). */
  statePortalUrl?: string;
  processes: ManagedProcess[];
  stop(): Promise<void>;
}

export const postgresAdminUrl = () => process.env.POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function startStack(
  s: StackSettings,
  opts: { demo: boolean; startBff: boolean; log: (line: string) => void; themeCaching?: boolean },
): Promise<RunningStack> {
  const { log } = opts;
  const instanceDir = path.join(runDir, s.name);
  await checkPostgres(postgresAdminUrl());
  await checkRedis(s.redisUrl);
  for (const [port, what, variable] of [
    [s.keycloakPort, 'Keycloak', 'KEYCLOAK_PORT'],
    [s.keycloakManagementPort, 'Keycloak management', 'KEYCLOAK_MANAGEMENT_PORT'],
    [s.upstreamPort, 'upstream core', 'UPSTREAM_PORT'],
    [s.smtpPort, 'SMTP', 'SMTP_PORT'],
    [s.inboxPort, 'dev inbox', 'INBOX_PORT'],
    ...(s.s3Port === undefined ? [] : [[s.s3Port, 'object store (s3rver)', 'S3_PORT'] as const]),
    ...(opts.startBff ? [[s.bffPort, 'BFF', 'BFF_PORT'] as const] : []),
    ...(opts.startBff && opts.demo ? [[s.partnerDemoPort, 'demo partner', 'PARTNER_DEMO_PORT'] as const] : []),
  ] as const) {
    await assertPortFree(port, what, variable);
  }
  const distribution = ensureKeycloakDistribution(log);
  for (const url of [s.keycloakDatabaseUrl, s.bffDatabaseUrl, s.upstreamDatabaseUrl]) await ensureDatabase(url);

  const processes: ManagedProcess[] = [];
  const inbox = await startInbox({ smtpPort: s.smtpPort, httpPort: s.inboxPort });
  onStopEverything(() => inbox.close());
  const objectStore =
    s.s3Port === undefined
      ? undefined
      : await startObjectStore({ port: s.s3Port, directory: path.join(instanceDir, 's3'), bucket: s.s3Bucket ?? 'platform-pictures' });
  if (objectStore) onStopEverything(() => objectStore.close());
  const stop = async () => {
    for (const p of [...processes].reverse()) await p.stop();
    await inbox.close();
    await objectStore?.close();
  };
  try {
    log(`==> dev inbox: SMTP on ${inbox.smtpPort}, messages at ${inbox.httpUrl}`);
    if (objectStore) log(`==> object store (s3rver, S3 protocol) on ${objectStore.url}, bucket ${objectStore.bucket}`);

    const upstream = startProcess({
      name: 'upstream',
      command: process.execPath,
      args: [path.join(repoRoot, 'upstream', 'src', 'main.ts')],
      logFile: path.join(instanceDir, 'upstream.log'),
      env: {
        UPSTREAM_DATABASE_URL: s.upstreamDatabaseUrl,
        UPSTREAM_PORT: String(s.upstreamPort),
        UPSTREAM_API_KEY: s.upstreamApiKey,
        UPSTREAM_LOAD_DEMO_DATA: String(opts.demo),
      },
    });
    processes.push(upstream);
    const upstreamUrl = `http://127.0.0.1:${s.upstreamPort}`;
    await waitFor('upstream core', () => httpOk(`${upstreamUrl}/health`), { timeoutMs: 30_000, abortIf: exitedReason(upstream) });
    log(`==> upstream core (reference implementation) on ${upstreamUrl}`);

    log(`==> starting Keycloak (log: ${path.relative(process.cwd(), path.join(instanceDir, 'keycloak.log'))})`);
    const started = Date.now();
    const keycloak = await startKeycloak({
      distribution,
      instanceDir,
      httpPort: s.keycloakPort,
      managementPort: s.keycloakManagementPort,
      publicUrl: s.keycloakPublicUrl,
      databaseUrl: s.keycloakDatabaseUrl,
      adminUser: s.keycloakAdminUser,
      adminPassword: s.keycloakAdminPassword,
      themeCaching: opts.themeCaching ?? false,
      // Brokered logins ask the BFF (keycloak/providers); in tests, startTestBff listens on this port.
      bffCheck: { url: `http://127.0.0.1:${s.bffPort}`, secret: s.keycloakCallbackSecret },
    });
    processes.push(keycloak.process);
    log(`==> Keycloak ready in ${Math.round((Date.now() - started) / 1000)} s; applying realm-config`);
    const realmChanges = await applyRealmConfig({
      keycloakUrl: keycloak.url,
      adminUser: s.keycloakAdminUser,
      adminPassword: s.keycloakAdminPassword,
      configDir: realmConfigDir,
      env: realmEnv(s),
      demo: opts.demo,
    });
    log(`==> realm-config: ${realmChanges.length === 0 ? 'no changes' : `${realmChanges.length} change(s)`}`);

    let bff: RunningStack['bff'];
    let statePortalUrl: string | undefined;
    if (opts.startBff) {
      const env = bffEnv(s, upstreamUrl);
      // The stand-in state portal (its own keys and JWKS), trusted by the BFF for the state tenant (decision 0039).
      const statePortalPort = Number(process.env.STATE_PORTAL_PORT ?? 3200);
      await assertPortFree(statePortalPort, 'state portal', 'STATE_PORTAL_PORT');
      const statePortalAudience = `${s.bffPublicUrl}/state-link`;
      const statePortal = startProcess({
        name: 'state-portal',
        command: process.execPath,
        args: [path.join(repoRoot, 'stack', 'state-portal', 'main.ts')],
        logFile: path.join(instanceDir, 'state-portal.log'),
        env: { STATE_PORTAL_PORT: String(statePortalPort), BFF_PUBLIC_URL: s.bffPublicUrl, STATE_LINK_AUDIENCE: statePortalAudience },
      });
      processes.push(statePortal);
      statePortalUrl = `http://localhost:${statePortalPort}`;
      await waitFor('state portal', () => httpOk(`http://127.0.0.1:${statePortalPort}/.well-known/jwks.json`), {
        timeoutMs: 30_000,
        abortIf: exitedReason(statePortal),
      });
      env.STATE_LINK_ISSUERS = JSON.stringify([
        {
          issuer: statePortalUrl,
          jwksUrl: `http://127.0.0.1:${statePortalPort}/.well-known/jwks.json`,
          audience: statePortalAudience,
          tenant: 'state-demo',
          identityProvider: 'state-demo',
        },
      ]);
      const migrate = startProcess({
        name: 'migrations',
        command: process.execPath,
        args: [path.join(repoRoot, 'bff', 'src', 'persistence', 'migrate-cli.ts'), 'up', s.bffDatabaseUrl],
        logFile: path.join(instanceDir, 'migrations.log'),
        env,
      });
      if ((await migrate.exited) !== 0) throw new Error(`BFF migrations failed; see ${migrate.logFile}`);
      log('==> BFF database migrated');
      if (opts.demo) {
        // The demo partner (its Keycloak client comes from realm-config): settings in the BFF's store,
        // once; a later start leaves them as an admin may have changed them, except that the demo
        // bank's origins (they follow PARTNER_DEMO_PORT) are added if missing, or its frame is refused.
        const cli = path.join(repoRoot, 'bff', 'src', 'cli', 'partner.ts');
        const origins = demoFrameOrigins(s.partnerDemoPort);
        const steps = [
          [
            'register',
            '--if-absent',
            '--client-id',
            DEMO_PARTNER.clientId,
            '--name',
            DEMO_PARTNER.name,
            ...demoAppKeyArgs(),
            ...origins.flatMap((o) => ['--frame-origin', o]),
          ],
          ['add-frame-origin', DEMO_PARTNER.clientId, ...origins],
        ];
        for (const args of steps) {
          const partner = startProcess({
            name: 'demo-partner',
            command: process.execPath,
            args: [cli, ...args],
            logFile: path.join(instanceDir, 'demo-partner.log'),
            env,
          });
          if ((await partner.exited) !== 0) throw new Error(`demo partner registration failed; see ${partner.logFile}`);
        }
        log(`==> demo partner partner-demo-bank registered (appKeys demo-bank-standard, demo-bank-consent; frame origins ${origins.join(', ')})`);
      }
      // The portal the BFF serves at /portal/ (git-ignored build output; rebuilt when its sources changed).
      await ensurePortalBuilt(log);
      const proc = startProcess({
        name: 'bff',
        command: process.execPath,
        args: [path.join(repoRoot, 'bff', 'src', 'main.ts')],
        logFile: path.join(instanceDir, 'bff.log'),
        env,
      });
      processes.push(proc);
      const url = `http://127.0.0.1:${s.bffPort}`;
      await waitFor('BFF', () => httpOk(`${url}/readyz`), { timeoutMs: 60_000, abortIf: exitedReason(proc) });
      bff = { url, process: proc };
    }
    let partnerDemoUrl: string | undefined;
    if (opts.startBff && opts.demo) {
      const demo = startProcess({
        name: 'partner-demo',
        command: process.execPath,
        args: [path.join(repoRoot, 'stack', 'partner-demo', 'main.ts')],
        logFile: path.join(instanceDir, 'partner-demo.log'),
        env: {
          PARTNER_DEMO_PORT: String(s.partnerDemoPort),
          BFF_PUBLIC_URL: s.bffPublicUrl,
          BFF_URL: `http://127.0.0.1:${s.bffPort}`,
          KEYCLOAK_URL: s.keycloakPublicUrl,
          PLATFORM_REALM: s.platformRealm,
          DEMO_PARTNER_CLIENT_SECRET: s.demoPartnerClientSecret,
        },
      });
      processes.push(demo);
      partnerDemoUrl = `http://localhost:${s.partnerDemoPort}`;
      await waitFor('demo partner', () => httpOk(`http://127.0.0.1:${s.partnerDemoPort}/`), { timeoutMs: 30_000, abortIf: exitedReason(demo) });
    }
    return {
      settings: s,
      inbox,
      ...(objectStore ? { objectStore } : {}),
      upstreamUrl,
      keycloak,
      realmChanges,
      ...(bff ? { bff } : {}),
      ...(partnerDemoUrl ? { partnerDemoUrl } : {}),
      ...(statePortalUrl ? { statePortalUrl } : {}),
      processes,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The BFF's environment for a stack (see bff/src/config.ts for every variable). */
export function bffEnv(s: StackSettings, upstreamUrl: string): Record<string, string> {
  return {
    NODE_ENV: 'development',
    BFF_PORT: String(s.bffPort),
    BFF_PUBLIC_URL: s.bffPublicUrl,
    BFF_DATABASE_URL: s.bffDatabaseUrl,
    REDIS_URL: s.redisUrl,
    REDIS_PREFIX: s.redisPrefix,
    KEYCLOAK_URL: s.keycloakPublicUrl,
    PLATFORM_REALM: s.platformRealm,
    BFF_CLIENT_SECRET: s.bffClientSecret,
    KEYCLOAK_CALLBACK_SECRET: s.keycloakCallbackSecret,
    USER_API_CLIENT_SECRET: s.userApiClientSecret,
    UPSTREAM_URL: upstreamUrl,
    UPSTREAM_API_KEY: s.upstreamApiKey,
    // The dev inbox: its SMTP server (SMTP_HOST's default is this machine) and its SMS gateway sink.
    SMTP_PORT: String(s.smtpPort),
    SMS_GATEWAY_URL: `http://127.0.0.1:${s.inboxPort}/sms`,
    // The stack's object store (s3rver): profile pictures (decision 0038). Its access keys are its own defaults.
    ...(s.s3Port === undefined ? {} : { S3_ENDPOINT: `http://127.0.0.1:${s.s3Port}`, S3_BUCKET: s.s3Bucket ?? 'platform-pictures' }),
    // The portal's "Sign in with Google" uses the real Google IdP when realm-config enabled it (realmEnv).
    ...(process.env.GOOGLE_CLIENT_ID && process.env.GOOGLE_CLIENT_SECRET ? { PORTAL_GOOGLE_IDP: 'google' } : {}),
  };
}

const exitedReason = (p: ManagedProcess) => () => (p.child.exitCode !== null ? `exited with ${p.child.exitCode}; see ${p.logFile}` : undefined);
