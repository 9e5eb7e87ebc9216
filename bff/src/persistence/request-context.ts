import type { Middleware } from 'koa';
import { RequestContext, type EntityManager } from '@mikro-orm/core';

/**
 * Per-request unit of work: every request runs inside its own fork of the entity manager (own
 * identity map, own pending changes), found by `orm.em` and `RequestContext.getEntityManager()`
 * through AsyncLocalStorage. Nothing a request loads or persists leaks into the next one.
 *
 * Mount it early, before anything that touches the database. Handlers still flush explicitly:
 * a unit of work that commits on its own at the end of a request would hide which write failed.
 */
export function requestContext(em: EntityManager): Middleware {
  return (_ctx, next) => RequestContext.create(em, next);
}
