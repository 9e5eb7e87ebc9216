import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../../stack/paths.ts';
import { bffEnv } from '../../stack/stack.ts';

/** The BFF as a real process (node bff/src/main.ts) against the real stack. */
const stack = inject('stack');
const children: ChildProcess[] = [];

beforeAll(() => {
  const migrate = spawnSync(process.execPath, [path.join(repoRoot, 'bff/src/persistence/migrate-cli.ts'), 'up', stack.settings.bffDatabaseUrl], {
    encoding: 'utf8',
  });
  expect(migrate.status, migrate.stderr).toBe(0);
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

async function startBff(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; logs: () => string; exit: Promise<number | null> }> {
  const port = await new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
  const child = spawn(process.execPath, [path.join(repoRoot, 'bff/src/main.ts')], {
    env: { ...process.env, ...bffEnv(stack.settings, stack.upstreamUrl), BFF_PORT: String(port), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (out.includes('BFF listening')) break;
    if (child.exitCode !== null) throw new Error(`BFF exited: ${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, child, logs: () => out, exit };
}

describe('BFF process', () => {
  it('is ready when Keycloak, PostgreSQL, Redis and the upstream core answer', async () => {
    const bff = await startBff({});
    const res = await fetch(`${bff.url}/readyz`);
    const body = (await res.json()) as { status: string; checks: Record<string, { status: string }> };
    expect(res.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(Object.fromEntries(Object.entries(body.checks).map(([k, v]) => [k, v.status]))).toEqual({
      keycloak: 'up',
      postgres: 'up',
      redis: 'up',
      upstream: 'up',
    });
  });

  it('reports 503 naming the dependency that is down', async () => {
    const bff = await startBff({ UPSTREAM_URL: 'http://127.0.0.1:9', UPSTREAM_RETRIES: '0' });
    const res = await fetch(`${bff.url}/readyz`);
    const body = (await res.json()) as { checks: Record<string, { status: string }> };
    expect(res.status).toBe(503);
    expect(body.checks.upstream?.status).toBe('down');
    expect(body.checks.keycloak?.status).toBe('up');
  });

  it('fails fast with the variable named when the configuration is bad', async () => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bff/src/main.ts')], {
      env: { ...process.env, ...bffEnv(stack.settings, stack.upstreamUrl), BFF_PORT: 'not-a-port' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(78);
    expect(err).toContain('BFF_PORT');
  });

  it('on SIGTERM finishes the request in flight, then exits 0 and refuses new connections', async () => {
    // A slow upstream health endpoint keeps /readyz in flight while we ask the BFF to stop.
    let probed: (() => void) | undefined;
    const slow = http.createServer((_req, res) => {
      probed?.();
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"ok"}');
      }, 1500);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    try {
      const bff = await startBff({ UPSTREAM_URL: slowUrl, READINESS_TIMEOUT_MS: '5000' });
      // Stop only once this readiness check is waiting on the slow upstream (a busy machine may take a while).
      const probeArrived = new Promise<void>((r) => (probed = r));
      const inFlight = fetch(`${bff.url}/readyz`);
      await probeArrived;
      bff.child.kill('SIGTERM');
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(await bff.exit).toBe(0);
      expect(bff.logs()).toContain('shutting down');
      await expect(fetch(`${bff.url}/healthz`)).rejects.toThrow();
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });
});
