import { createServer } from 'node:http';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { buildContainer } from './composition-root.ts';
import { createLogger } from './kernel/logger.ts';
import { safeError } from './http/problem.ts';

/** Process entry: config, composition root, HTTP server, graceful shutdown on SIGTERM/SIGINT. */
let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}
const logger = createLogger({ level: config.logLevel });
const container = await buildContainer(config, { logger }).catch((err: unknown) => {
  logger.fatal({ err: safeError(err) }, 'cannot start');
  process.exit(1);
});
const server = createServer(container.app.callback());
server.keepAliveTimeout = 5_000;
server.listen(config.port, config.host, () => logger.info({ url: config.publicUrl, port: config.port }, 'BFF listening'));

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: finishing in-flight requests');
  const force = setTimeout(() => {
    logger.warn('in-flight requests did not finish in time; closing connections');
    server.closeAllConnections();
  }, config.shutdownTimeoutMs);
  server.closeIdleConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  clearTimeout(force);
  await container.close();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
