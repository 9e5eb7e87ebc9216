import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildContainer, type Container } from '../../bff/src/composition-root.ts';
import { loadConfig } from '../../bff/src/config.ts';
import { createLogger } from '../../bff/src/kernel/logger.ts';
import { migrateUp } from '../../bff/src/persistence/migrate.ts';
import { createOrm } from '../../bff/src/persistence/orm.ts';
import { bffEnv } from '../../stack/stack.ts';
import type { E2EStack } from '../setup/stack.ts';

export interface TestBff {
  /** Base URL, e.g. http://127.0.0.1:41234 (also the BFF's public URL). */
  url: string;
  container: Container;
  /** What the BFF logged (with `captureLogs`; empty otherwise). */
  logs(): string;
  /**
   * `false`: every connection is dropped, as if the BFF were down, while the port stays held (so
   * Keycloak's calls to the stack's BFF URL fail, and no other test file's BFF takes the port).
   */
  setReachable(reachable: boolean): void;
  close(): Promise<void>;
}

/**
 * The real BFF (composition root and all) in this test process, on a free port, against the e2e
 * stack. `env` overrides any variable of bff/src/config.ts, e.g. a dead UPSTREAM_URL for outage tests.
 * `atStackUrl`: listen on the stack's own BFF port instead, so the BFF is at `settings.bffPublicUrl`,
 * the URL realm-config gave Keycloak (the login page's sign-up link) and Keycloak's platform-bff-check
 * calls. One such BFF at a time: while another test file's holds the port, this one waits for it.
 */
export async function startTestBff(
  stack: E2EStack,
  env: Record<string, string> = {},
  opts: { atStackUrl?: boolean; captureLogs?: boolean } = {},
): Promise<TestBff> {
  const server: Server = createServer();
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.atStackUrl ? stack.settings.bffPort : 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  for (let attempt = 1; ; attempt++) {
    try {
      await listen();
      break;
    } catch (err) {
      // The failed attempt's callback would never fire: without this, waits pile up listeners.
      server.removeAllListeners('listening');
      // The stack's port, taken by another file's BFF until its tests end (the hook timeout bounds the wait).
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !opts.atStackUrl) throw err;
      if (attempt === 1) console.log(`[test bff] port ${stack.settings.bffPort} is taken; waiting for it`);
      await sleep(500);
    }
  }
  let reachable = true;
  server.on('connection', (socket) => {
    if (!reachable) socket.destroy();
  });
  const url = opts.atStackUrl ? stack.settings.bffPublicUrl : `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({
    ...bffEnv(stack.settings, stack.upstreamUrl),
    NODE_ENV: 'test',
    BFF_PUBLIC_URL: url,
    // Test files share Keycloak and the BFF database: only the outbox test runs the outbox (its own database),
    // only the member import test works on imports (its outage test needs to know which BFF does).
    UPSTREAM_OUTBOX_ENABLED: 'false',
    MEMBER_IMPORT_ENABLED: 'false',
    // Likewise the picture worker: the picture test runs its own workers over the queue (decision 0038).
    PICTURE_WORKER_ENABLED: 'false',
    ...env,
  });
  const orm = await createOrm({ databaseUrl: config.databaseUrl });
  await migrateUp(orm); // advisory-locked: files running side by side do not race
  await orm.close();
  // captureLogs: every line at trace level, for tests asserting that nothing secret is logged.
  const logLines: string[] = [];
  const logger = opts.captureLogs
    ? createLogger({ level: 'trace', destination: { write: (line: string) => void logLines.push(line) } })
    : createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const container = await buildContainer(config, { logger });
  const app = container.app.callback();
  server.on('request', (req, res) => {
    // Kept-alive connections from before setReachable(false) are dropped too.
    if (!reachable) req.socket.destroy();
    else void app(req, res);
  });
  return {
    url,
    container,
    logs: () => logLines.join(''),
    setReachable(on) {
      reachable = on;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await container.close();
    },
  };
}
