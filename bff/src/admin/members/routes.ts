import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { DomainError } from '../../kernel/errors.ts';
import { parseInput } from '../../http/validation.ts';
import { PLATFORM_ADMIN_ROLE, requireAccessToken, type AccessTokenDeps } from '../../http/bearer.ts';
import type { MemberAdmin } from './use-cases.ts';

export interface MemberAdminRouteDeps extends AccessTokenDeps {
  admin: MemberAdmin;
}

const UUID = z.uuid();
const outboxQuery = z
  .object({
    status: z.enum(['pending', 'delivered', 'failed', 'skipped']).optional(),
    userId: z.uuid().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

/** Admin API of members and the upstream outbox: bearer token with the realm role `platform-admin`. */
export function memberAdminRouter(deps: MemberAdminRouteDeps): Router {
  const router = new Router({ prefix: '/api/admin/v1' });
  // On each route, not `router.use`: a router's middleware runs for every path under its prefix,
  // and /api/admin/v1/tenants/... belongs to tenant admins (issue 18).
  const admin = requireAccessToken(() => ({ tokens: deps.accessTokens, directory: deps.directory, audience: deps.audience, role: PLATFORM_ADMIN_ROLE }));

  router.put('/users/:userId/upstream-link', admin, async (ctx) => {
    const result = await deps.admin.convert(idOf(ctx, 'userId', 'No such account'));
    ctx.status = result.converted ? 201 : 200;
    ctx.body = result;
  });

  router.post('/users/:userId/upstream-resync', admin, async (ctx) => {
    ctx.status = 202;
    ctx.body = await deps.admin.resyncMember(idOf(ctx, 'userId', 'No such account'));
  });

  router.get('/upstream-outbox', admin, async (ctx) => {
    ctx.body = await deps.admin.listOutbox(parseInput(outboxQuery, { ...ctx.query }, { message: 'The query is not valid' }));
  });

  router.get('/upstream-outbox/:id', admin, async (ctx) => {
    ctx.body = await deps.admin.getOutboxRow(idOf(ctx, 'id', 'No such outbox row'));
  });

  router.post('/upstream-outbox/:id/retry', admin, async (ctx) => {
    ctx.body = await deps.admin.retryOutboxRow(idOf(ctx, 'id', 'No such outbox row'));
  });

  router.post('/upstream-outbox/:id/skip', admin, async (ctx) => {
    ctx.body = await deps.admin.skipOutboxRow(idOf(ctx, 'id', 'No such outbox row'));
  });

  return router;
}

/** An id that cannot exist is simply not found. */
function idOf(ctx: Context, name: string, message: string): string {
  const parsed = UUID.safeParse((ctx.params as Record<string, string>)[name]);
  if (!parsed.success) throw new DomainError('NOT_FOUND', message);
  return parsed.data;
}
