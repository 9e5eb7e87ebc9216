import Router from '@koa/router';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/**
 * `/healthz`: the process is alive (no dependency calls, so a slow dependency never gets us killed).
 * `/readyz`: every dependency answers within the timeout; 503 with each check's outcome otherwise.
 */
export function healthRouter(checks: ReadinessCheck[], timeoutMs: number): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const results = await Promise.all(
      checks.map(async (c) => {
        const started = Date.now();
        try {
          await Promise.race([c.check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref())]);
          return [c.name, { status: 'up', ms: Date.now() - started }] as const;
        } catch {
          return [c.name, { status: 'down', ms: Date.now() - started }] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r.status === 'up');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) };
  });
  return router;
}
