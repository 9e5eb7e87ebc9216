import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { assertPortFree, checkPostgres, checkRedis } from '../../stack/preflight.ts';
import { postgresAdminUrl } from '../support/postgres.ts';
import { redisUrl } from '../support/redis.ts';

describe('stack preflight', () => {
  it('passes when PostgreSQL and Redis are there', async () => {
    await expect(checkPostgres(postgresAdminUrl)).resolves.toBeUndefined();
    await expect(checkRedis(redisUrl)).resolves.toBeUndefined();
  });

  it('fails fast, saying what to start, when PostgreSQL or Redis is not reachable', async () => {
    await expect(checkPostgres('postgres://postgres@127.0.0.1:9/postgres')).rejects.toThrow(/PostgreSQL is not reachable.*\n.*pg_ctlcluster/);
    await expect(checkRedis('redis://127.0.0.1:9')).rejects.toThrow(/Redis is not reachable.*\n.*redis-server/);
  });

  it('names the variable to change when a port is taken', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as net.AddressInfo;
    try {
      await expect(assertPortFree(port, 'Keycloak', 'KEYCLOAK_PORT')).rejects.toThrow(/already in use.*KEYCLOAK_PORT/);
    } finally {
      server.close();
    }
  });
});
