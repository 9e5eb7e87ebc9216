/**
 * Process entry of the reference upstream core: `node upstream/src/main.ts`.
 *
 *   UPSTREAM_DATABASE_URL    PostgreSQL URL (required)
 *   UPSTREAM_SCHEMA          schema for the tables, created when missing (default upstream_core)
 *   UPSTREAM_PORT            default 4010
 *   UPSTREAM_HOST            default 127.0.0.1
 *   UPSTREAM_API_KEY         bearer key clients must send, at least 16 characters (required)
 *   UPSTREAM_LOAD_DEMO_DATA  "true" loads the demo channels and members (idempotent) at start
 *   LOG_LEVEL                pino level (default info)
 */
import pino from 'pino';
import { safeError } from './app.ts';
import { createPool } from './db.ts';
import { loadDemoData } from './demo-data.ts';
import { startUpstreamServer } from './server.ts';

const logger = pino({ name: 'upstream-core', level: process.env.LOG_LEVEL ?? 'info' });

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    logger.fatal({ variable: name }, `environment variable ${name} is required`);
    process.exit(1);
  }
  return value;
}

function port(): number {
  const raw = process.env.UPSTREAM_PORT ?? '4010';
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    logger.fatal({ variable: 'UPSTREAM_PORT' }, 'UPSTREAM_PORT must be a port number');
    process.exit(1);
  }
  return value;
}

const databaseUrl = required('UPSTREAM_DATABASE_URL');
const schema = process.env.UPSTREAM_SCHEMA ?? 'upstream_core';

try {
  const server = await startUpstreamServer({
    databaseUrl,
    schema,
    port: port(),
    host: process.env.UPSTREAM_HOST ?? '127.0.0.1',
    apiKey: required('UPSTREAM_API_KEY'),
    logger,
  });

  if (process.env.UPSTREAM_LOAD_DEMO_DATA === 'true') {
    const pool = createPool(databaseUrl, schema);
    try {
      await loadDemoData(pool);
      logger.info('demo data loaded');
    } finally {
      await pool.end();
    }
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ error: safeError(error) }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
} catch (error) {
  logger.fatal({ error: safeError(error) }, 'upstream core failed to start');
  process.exit(1);
}
