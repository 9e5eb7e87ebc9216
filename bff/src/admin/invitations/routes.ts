import Router from '@koa/router';
import type { Context } from 'koa';
import { requireTenantAdmin, principalOf, tenantOf, type TenantAdminSettings } from '../../http/bearer.ts';
import { parseInput } from '../../http/validation.ts';
import type { InvitationService } from '../../invitations/invitation-service.ts';
import type { Invitations } from '../../invitations/invitations.ts';
import { createInvitationBody, listInvitationsQuery } from './schemas.ts';

export interface InvitationAdminRouteDeps extends TenantAdminSettings {
  invitations: InvitationService & Pick<Invitations, 'consoleInvitations'>;
}

/**
 * Invitations into a tenant: `/api/admin/v1/tenants/{tenant}/invitations`, for the tenant's
 * administrators (`requireTenantAdmin`: a platform admin, or a tenant admin in its organization).
 */
export function invitationAdminRouter(deps: InvitationAdminRouteDeps): Router {
  const router = new Router();
  const base = '/api/admin/v1/tenants/:tenant/invitations';
  const admin = requireTenantAdmin(() => deps);
  const tenant = (ctx: Context) => tenantOf(ctx).alias;
  const id = (ctx: Context) => String((ctx.params as Record<string, string>).id);

  router.post(base, admin, async (ctx) => {
    const body = parseInput(createInvitationBody, ctx.request.body, { message: 'The invitation is not valid' });
    const result = await deps.invitations.create({
      ...body,
      tenant: tenant(ctx),
      invitedBy: principalOf(ctx).userId ?? principalOf(ctx).clientId,
      source: 'admin',
    });
    ctx.status = result.reused ? 200 : 201;
    ctx.body = { ...result.invitation, reused: result.reused };
  });

  router.get(base, admin, async (ctx) => {
    const query = parseInput(listInvitationsQuery, { ...ctx.query }, { where: 'query', message: 'The query is not valid' });
    const filter = query.status ? { status: query.status } : {};
    const [items, keycloakInvitations] = await Promise.all([
      deps.invitations.list(tenant(ctx), filter),
      deps.invitations.consoleInvitations(tenant(ctx), filter),
    ]);
    ctx.body = { items, keycloakInvitations };
  });

  router.get(`${base}/:id`, admin, async (ctx) => {
    ctx.body = await deps.invitations.get(tenant(ctx), id(ctx));
  });

  router.post(`${base}/:id/resend`, admin, async (ctx) => {
    ctx.body = await deps.invitations.resend(tenant(ctx), id(ctx));
  });

  router.post(`${base}/:id/revoke`, admin, async (ctx) => {
    ctx.body = await deps.invitations.revoke(tenant(ctx), id(ctx));
  });

  router.delete(`${base}/:id`, admin, async (ctx) => {
    ctx.body = await deps.invitations.revoke(tenant(ctx), id(ctx));
  });

  return router;
}
