import net from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';

/** Fails fast, saying what to start, when PostgreSQL or Redis is not there. */
export async function checkPostgres(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${redact(adminUrl)} (${(err as Error).message}).\n` +
        '  Start it, e.g.: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n' +
        '  or point POSTGRES_ADMIN_URL at a server where this user may create databases.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(
      `Redis is not reachable at ${redact(url)} (${(err as Error).message}).\n` +
        '  Start it, e.g.: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no\n' +
        '  or set REDIS_URL.',
    );
  } finally {
    redis.disconnect();
  }
}

export async function assertPortFree(port: number, what: string, variable: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', () => reject(new Error(`Port ${port} (${what}) is already in use: stop what uses it (another npm start?) or set ${variable}.`)));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
