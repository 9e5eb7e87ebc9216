import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { ensurePortalBuilt } from '../../portal/build.ts';
import { runDir } from '../../stack/paths.ts';
import { devSettings, type StackSettings } from '../../stack/settings.ts';
import { postgresAdminUrl, startStack } from '../../stack/stack.ts';
import { testKeyPrefix } from '../support/redis.ts';
import { freePort } from '../support/ports.ts';

/**
 * Global setup of the e2e project: one real stack (Keycloak, upstream core, dev inbox) on free ports
 * with its own databases and Redis prefix, so it runs beside a developer's `npm start`. Torn down,
 * databases dropped and keys deleted, when the run ends.
 */
export interface E2EStack {
  settings: StackSettings;
  keycloakUrl: string;
  upstreamUrl: string;
  inboxUrl: string;
  realmChangesOnStart: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: E2EStack;
  }
}

export default async function setup(project: TestProject) {
  // The BFFs the tests start serve the portal from its build output (git-ignored): build it if stale.
  await ensurePortalBuilt((l) => console.log(`[e2e setup] ${l}`));
  // Iterating on one test file: `node test/setup/shared-stack.ts` keeps a stack up and writes this file.
  const shared = process.env.E2E_STACK_FILE;
  if (shared) {
    project.provide('stack', JSON.parse(readFileSync(shared, 'utf8')) as E2EStack);
    return async () => {};
  }
  const { stack: provided, teardown } = await startE2EStack();
  project.provide('stack', provided);
  return teardown;
}

/** A whole stack on free ports with its own databases and Redis prefix; `teardown` removes them. */
export async function startE2EStack(): Promise<{ stack: E2EStack; teardown: () => Promise<void> }> {
  const id = randomBytes(3).toString('hex');
  const [keycloakPort, keycloakManagementPort, upstreamPort, smtpPort, inboxPort, bffPort, s3Port] = await Promise.all(Array.from({ length: 7 }, freePort));
  const redis = testKeyPrefix(`e2e-${id}`);
  const db = (kind: string) => `postgres://postgres@127.0.0.1:5432/test_${kind}_${id}`;
  const base = devSettings({});
  const settings: StackSettings = {
    ...base,
    name: `test-${id}`,
    keycloakPort: keycloakPort!,
    keycloakManagementPort: keycloakManagementPort!,
    keycloakPublicUrl: `http://localhost:${keycloakPort}`,
    keycloakDatabaseUrl: db('kc'),
    bffPort: bffPort!,
    bffPublicUrl: `http://localhost:${bffPort}`,
    bffDatabaseUrl: db('bff'),
    redisPrefix: redis.prefix,
    upstreamPort: upstreamPort!,
    upstreamDatabaseUrl: db('upstream'),
    smtpPort: smtpPort!,
    inboxPort: inboxPort!,
    s3Port: s3Port!,
  };
  const started = Date.now();
  const stack = await startStack(settings, { demo: true, startBff: false, log: (l) => console.log(`[e2e stack] ${l}`) });
  console.log(`[e2e stack] up in ${Math.round((Date.now() - started) / 1000)} s`);
  const provided: E2EStack = {
    settings,
    keycloakUrl: settings.keycloakPublicUrl,
    upstreamUrl: stack.upstreamUrl,
    inboxUrl: stack.inbox.httpUrl,
    realmChangesOnStart: stack.realmChanges.length,
  };
  const teardown = async () => {
    await stack.stop();
    await redis.cleanup();
    const client = new pg.Client({ connectionString: postgresAdminUrl() });
    await client.connect();
    for (const url of [settings.keycloakDatabaseUrl, settings.bffDatabaseUrl, settings.upstreamDatabaseUrl]) {
      await client.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`);
    }
    await client.end();
    rmSync(path.join(runDir, settings.name), { recursive: true, force: true });
  };
  return { stack: provided, teardown };
}
