import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Everything started so far, stopped in reverse order by `stopEverything()`: a Ctrl-C in the middle
 * of start-up must not leave a half-started Keycloak behind.
 */
const cleanups: (() => Promise<void>)[] = [];

export function onStopEverything(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

export async function stopEverything(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
}

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts a child process whose output goes to a log file. Children stay in our process group, so a
 * Ctrl-C in the terminal reaches them too; `stop()` sends SIGTERM, then SIGKILL after a timeout.
 */
export function startProcess(opts: { name: string; command: string; args: string[]; logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): ManagedProcess {
  mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  const managed: ManagedProcess = {
    name: opts.name,
    child,
    logFile: opts.logFile,
    exited,
    async stop(timeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
      log.end();
    },
  };
  onStopEverything(() => managed.stop());
  return managed;
}

/** Polls `check` until it returns true; fails with `what` and the elapsed time. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; abortIf?: () => string | undefined },
): Promise<void> {
  const start = Date.now();
  for (;;) {
    const reason = opts.abortIf?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    if (await check().catch(() => false)) return;
    if (Date.now() - start > opts.timeoutMs) throw new Error(`${what}: not ready after ${opts.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
  }
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  return res.ok;
}
