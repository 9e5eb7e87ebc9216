import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { principalOf, requireTenantAdmin, tenantOf, type TenantAdminSettings } from '../../http/bearer.ts';
import { parseInput } from '../../http/validation.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { MemberImportAdmin } from './use-cases.ts';

export interface MemberImportRouteDeps {
  admin: MemberImportAdmin;
  accessTokens: TenantAdminSettings['tokens'];
  audience: string;
  directory: TenantAdminSettings['directory'];
}

/** The one path that takes a body other than JSON (app.ts lets `text/csv` through to it, unread). */
export const IMPORT_UPLOAD_PATH = /^\/api\/admin\/v1\/tenants\/[^/]+\/imports$/;

const rowsQuery = z
  .object({
    result: z.enum(['pending', 'created', 'matched', 'refused']).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().max(16).optional(),
  })
  .strict();

/** Admin API of member imports: a tenant's administrators (requireTenantAdmin), state tenants only. */
export function memberImportRouter(deps: MemberImportRouteDeps): Router {
  const router = new Router({ prefix: '/api/admin/v1/tenants/:tenant/imports' });
  const admin = requireTenantAdmin(() => ({ tokens: deps.accessTokens, audience: deps.audience, directory: deps.directory }));

  router.post('/', admin, async (ctx) => {
    if (!ctx.is('text/csv')) {
      throw new DomainError('VALIDATION_FAILED', 'Send the member file as text/csv', {
        fields: [{ field: 'body', reason: 'unsupported_media_type', message: 'The body must be CSV (Content-Type: text/csv)' }],
      });
    }
    const length = ctx.request.length;
    const imported = await deps.admin.upload({
      tenant: tenantOf(ctx),
      uploadedBy: principalOf(ctx).userId ?? principalOf(ctx).clientId,
      body: ctx.req,
      ...(length !== undefined ? { contentLength: length } : {}),
    });
    ctx.status = 202;
    ctx.set('Location', `/api/admin/v1/tenants/${imported.tenant}/imports/${imported.id}`);
    ctx.body = imported;
  });

  router.get('/:id', admin, async (ctx) => {
    ctx.body = await deps.admin.get(tenantOf(ctx).alias, idOf(ctx));
  });

  router.get('/:id/rows', admin, async (ctx) => {
    const query = parseInput(rowsQuery, { ...ctx.query }, { message: 'The query is not valid' });
    ctx.body = await deps.admin.rows(tenantOf(ctx).alias, idOf(ctx), {
      limit: query.limit,
      ...(query.result ? { result: query.result } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
  });

  return router;
}

function idOf(ctx: Context): string {
  return String((ctx.params as Record<string, string>).id);
}
