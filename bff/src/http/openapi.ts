import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import { parse } from 'yaml';

export const OPENAPI_FILE = new URL('../../openapi.yaml', import.meta.url);

/** The OpenAPI 3.1 document (bff/openapi.yaml), served as JSON; a test keeps it equal to the routes. */
export function loadOpenApi(): Record<string, unknown> {
  return parse(readFileSync(OPENAPI_FILE, 'utf8')) as Record<string, unknown>;
}

export function openApiRouter(document: Record<string, unknown>): Router {
  const router = new Router();
  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  return router;
}
