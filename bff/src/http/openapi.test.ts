import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import { compileErrors, validate } from '@readme/openapi-parser';
import type Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { brokeredLoginRouter } from '../flows/brokered-login/routes.ts';
import type { BrokeredLoginDeps } from '../flows/brokered-login/use-cases.ts';
import { upstreamLoginRouter } from '../flows/upstream-login/routes.ts';
import type { UpstreamLoginDeps } from '../flows/upstream-login/use-cases.ts';
import { signUpPagesRouter } from '../flows/sign-up/pages.ts';
import { signUpApiRouter, type SignUpRouteDeps } from '../flows/sign-up/routes.ts';
import { otpRouter, type OtpRouteDeps } from '../otp/routes.ts';
import { partnerAdminRouter, type PartnerAdminRouteDeps } from '../admin/partners/routes.ts';
import { memberAdminRouter, type MemberAdminRouteDeps } from '../admin/members/routes.ts';
import { partnerEnrollmentRouter, type PartnerEnrollmentRouteDeps } from '../flows/partner-enrollment/routes.ts';
import { partnerUserApiRouter, type PartnerUserApiDeps } from '../flows/partner-user-api/routes.ts';
import { userManagementRouter } from '../flows/user-management/routes.ts';
import type { UserManagementDeps } from '../flows/user-management/use-cases.ts';
import { createLogger } from '../kernel/logger.ts';
import { portalRouter } from '../portal/portal.ts';
import { stateClaimRouters, type StateClaimRouteDeps } from '../flows/state-claim/routes.ts';
import { createApp, listRoutes, type AppDeps } from './app.ts';
import { OPENAPI_FILE, documentedRoutes, loadOpenApi, type RouteInfo } from './openapi.ts';

/**
 * The app as the composition root builds it, minus real dependencies. Flow routers are passed the
 * same way `bff/src/composition-root.ts` passes them (`routers`): when flows land there, hand the
 * same list here (e.g. from an exported `flowRouters(deps)`) so their routes are checked too.
 */
function buildApp(extraRouters: Router[] = []): Koa {
  const flowRouters = [
    signUpPagesRouter({ keycloakUrl: 'http://localhost:8080', realm: 'platform' }),
    portalRouter({ keycloakUrl: 'http://localhost:8080', realm: 'platform', clientId: 'portal', stateIdp: 'state-demo', googleIdp: 'google-demo', build: undefined, frameOriginsOf: async () => [] }),
    otpRouter(unusedDeps<OtpRouteDeps>()),
    signUpApiRouter(unusedDeps<SignUpRouteDeps>()),
    userManagementRouter(unusedDeps<UserManagementDeps>()),
    partnerEnrollmentRouter(unusedDeps<PartnerEnrollmentRouteDeps>()),
    partnerUserApiRouter(unusedDeps<PartnerUserApiDeps>()),
    partnerAdminRouter(unusedDeps<PartnerAdminRouteDeps>()),
    memberAdminRouter(unusedDeps<MemberAdminRouteDeps>()),
    brokeredLoginRouter({ ...unusedDeps<BrokeredLoginDeps>(), callbackSecret: 'unused-in-route-listing' }),
    ...stateClaimRouters({ ...unusedDeps<StateClaimRouteDeps>(), callbackSecret: 'unused-in-route-listing' }),
    upstreamLoginRouter({ ...unusedDeps<UpstreamLoginDeps>(), callbackSecret: 'unused-in-route-listing' }),
  ];
  const deps: AppDeps = {
    logger: createLogger({ level: 'silent' }),
    readiness: [],
    readinessTimeoutMs: 100,
    openApi: loadOpenApi(),
    routers: [...flowRouters, ...extraRouters],
  };
  return createApp(deps);
}

/** Dependencies of a router whose routes are only listed here: touching one fails the test. */
function unusedDeps<T extends object>(): T {
  return new Proxy({} as T, {
    get(_target, name) {
      throw new Error(`a route-listing test used the dependency ${String(name)}`);
    },
  });
}

const key = (r: RouteInfo) => `${r.method} ${r.path}`;

/** Routes without an operation, and operations without a route. */
function mismatches(app: Koa, document: Record<string, unknown>) {
  const routes = new Set(listRoutes(app).map(key));
  const documented = new Set(documentedRoutes(document).map(key));
  return {
    undocumented: [...routes].filter((r) => !documented.has(r)),
    unrouted: [...documented].filter((r) => !routes.has(r)),
  };
}

describe('bff/openapi.yaml', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validate(fileURLToPath(OPENAPI_FILE));
    expect(result.valid, compileErrors(result)).toBe(true);
    expect(result.specification).toBe('OpenAPI');
    expect(loadOpenApi().openapi).toMatch(/^3\.1\./);
  });

  it('describes exactly the routes of the app', () => {
    const app = buildApp();
    expect(listRoutes(app).length).toBeGreaterThan(0);
    expect(mismatches(app, loadOpenApi())).toEqual({ undocumented: [], unrouted: [] });
  });

  it('lists every error code of the problem table in the Problem schema', async () => {
    const { ERROR_TABLE } = await import('./problem.ts');
    const schemas = (loadOpenApi().components as { schemas: { Problem: { properties: { code: { enum: string[] } } } } }).schemas;
    expect([...schemas.Problem.properties.code.enum].sort()).toEqual(Object.keys(ERROR_TABLE).sort());
  });

  it('is served as JSON at /openapi.json', async () => {
    const server = createServer(buildApp().callback()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual(loadOpenApi());
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('the route check', () => {
  it('catches flow routes missing from the document, with koa params as OpenAPI templates', () => {
    const flow = new Router({ prefix: '/flows/claim' });
    flow.post('/', () => {});
    flow.get('/:flowId', () => {});
    const { undocumented, unrouted } = mismatches(buildApp([flow]), loadOpenApi());
    expect(undocumented.sort()).toEqual(['GET /flows/claim/{flowId}', 'POST /flows/claim']);
    expect(unrouted).toEqual([]);
  });

  it('catches documented operations without a route', () => {
    const document = loadOpenApi();
    const paths = document.paths as Record<string, unknown>;
    paths['/gone/{id}'] = { delete: { responses: { '204': { description: 'gone' } } }, parameters: [] };
    expect(mismatches(buildApp(), document)).toEqual({ undocumented: [], unrouted: ['DELETE /gone/{id}'] });
  });
});
