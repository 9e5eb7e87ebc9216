import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import { parse } from 'yaml';

export const OPENAPI_FILE = new URL('../../openapi.yaml', import.meta.url);

/** The OpenAPI 3.1 document (bff/openapi.yaml), served as JSON; a test keeps it equal to the routes. */
export function loadOpenApi(): Record<string, unknown> {
  return parse(readFileSync(OPENAPI_FILE, 'utf8')) as Record<string, unknown>;
}

export interface RouteInfo {
  /** Upper-case HTTP method, e.g. `GET`. */
  method: string;
  /** OpenAPI path template: koa's `/flows/:id` becomes `/flows/{id}`. */
  path: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** The operations a document describes, comparable with `listRoutes` of the app. */
export function documentedRoutes(document: Record<string, unknown>): RouteInfo[] {
  const paths = (document.paths ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(paths)
    .flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => METHODS.includes(k))
        .map((m) => ({ method: m.toUpperCase(), path })),
    )
    .sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

export function openApiRouter(document: Record<string, unknown>): Router {
  const router = new Router();
  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  return router;
}
