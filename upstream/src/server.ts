import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createUpstreamApp } from './app.ts';
import { applySchema, createPool } from './db.ts';

export { createUpstreamApp } from './app.ts';

export interface UpstreamServerOptions {
  databaseUrl: string;
  /** PostgreSQL schema for the core's tables; created when missing. Default `upstream_core`. */
  schema?: string;
  /** 0 picks a free port. Default 4010. */
  port?: number;
  host?: string;
  apiKey: string;
  logger?: pino.Logger;
}

export interface RunningUpstreamServer {
  /** Base URL, e.g. `http://127.0.0.1:4010`. */
  url: string;
  close(): Promise<void>;
}

/** Applies the schema, then serves the contract of `upstream/openapi.yaml`. */
export async function startUpstreamServer(options: UpstreamServerOptions): Promise<RunningUpstreamServer> {
  const schema = options.schema ?? 'upstream_core';
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? pino({ name: 'upstream-core' });
  const pool = createPool(options.databaseUrl, schema);
  try {
    await applySchema(pool, schema);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const { app } = createUpstreamApp({ pool, apiKey: options.apiKey, logger });

  const server = createServer(app.callback());
  // Clients keep connections alive; this must stay below their idle timeouts but not at zero.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4010, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, schema }, 'upstream core listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          // In-flight requests get a grace period, then their connections are cut.
          setTimeout(() => server.closeAllConnections(), 10_000).unref();
        });
        await pool.end();
        logger.info('upstream core stopped');
      })();
      return closing;
    },
  };
}
