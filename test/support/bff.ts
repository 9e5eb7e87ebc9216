import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  close(): Promise<void>;
}

/**
 * The real BFF (composition root and all) in this test process, on a free port, against the e2e
 * stack. `env` overrides any variable of bff/src/config.ts, e.g. a dead UPSTREAM_URL for outage tests.
 */
export async function startTestBff(stack: E2EStack, env: Record<string, string> = {}): Promise<TestBff> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({
    ...bffEnv(stack.settings, stack.upstreamUrl),
    NODE_ENV: 'test',
    BFF_PUBLIC_URL: url,
    ...env,
  });
  const orm = await createOrm({ databaseUrl: config.databaseUrl });
  await migrateUp(orm); // advisory-locked: files running side by side do not race
  await orm.close();
  const container = await buildContainer(config, { logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  server.on('request', container.app.callback());
  return {
    url,
    container,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await container.close();
    },
  };
}
