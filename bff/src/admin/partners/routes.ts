import Router from '@koa/router';
import type { Context } from 'koa';
import { PLATFORM_ADMIN_ROLE, requireAccessToken, type AccessTokenDeps } from '../../http/bearer.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { PartnerSettings } from '../../partners/partner-store.ts';
import { parseInput } from '../../http/validation.ts';
import type { PartnerAdmin } from './use-cases.ts';
import { appKeyParam, appKeySettings, clientIdParam, registerPartnerBody, updatePartnerBody } from './schemas.ts';

export interface PartnerAdminRouteDeps extends AccessTokenDeps {
  admin: PartnerAdmin;
}

/** Admin API of partners: bearer access token of the platform realm with the realm role `platform-admin`. */
export function partnerAdminRouter(deps: PartnerAdminRouteDeps): Router {
  const router = new Router({ prefix: '/api/admin/v1/partners' });
  router.use(requireAccessToken(() => ({ tokens: deps.accessTokens, directory: deps.directory, audience: deps.audience, role: PLATFORM_ADMIN_ROLE })));

  router.get('/', async (ctx) => {
    ctx.body = { items: (await deps.admin.list()).map(view) };
  });

  router.post('/', async (ctx) => {
    const { partner, clientSecret } = await deps.admin.register(parseInput(registerPartnerBody, ctx.request.body));
    ctx.status = 201;
    ctx.set('Location', `/api/admin/v1/partners/${partner.clientId}`);
    ctx.body = { ...view(partner), ...(clientSecret ? { clientSecret } : {}) };
  });

  router.get('/:clientId', async (ctx) => {
    ctx.body = view(await deps.admin.get(clientIdOf(ctx)));
  });

  router.patch('/:clientId', async (ctx) => {
    const clientId = clientIdOf(ctx);
    ctx.body = view(await deps.admin.update(clientId, parseInput(updatePartnerBody, ctx.request.body)));
  });

  router.post('/:clientId/secret', async (ctx) => {
    ctx.body = await deps.admin.rotateSecret(clientIdOf(ctx));
  });

  router.put('/:clientId/app-keys/:appKey', async (ctx) => {
    const clientId = clientIdOf(ctx);
    const appKey = appKeyParam.safeParse(ctx.params.appKey);
    if (!appKey.success) throw new DomainError('NOT_FOUND', 'No such appKey');
    ctx.body = view(await deps.admin.putAppKey(clientId, { appKey: appKey.data, ...parseInput(appKeySettings, ctx.request.body) }));
  });

  return router;
}

/** A client id that cannot exist is simply not found. */
function clientIdOf(ctx: Context): string {
  const parsed = clientIdParam.safeParse((ctx.params as Record<string, string>).clientId);
  if (!parsed.success) throw new DomainError('NOT_FOUND', 'No such partner');
  return parsed.data;
}

function view(p: PartnerSettings) {
  return {
    clientId: p.clientId,
    name: p.name,
    trustAuth: p.trustAuth,
    enabled: p.enabled,
    frameOrigins: p.frameOrigins,
    appKeys: p.appKeys,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}
