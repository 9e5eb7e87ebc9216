import { Router, type RouterContext } from '@koa/router';
import type pg from 'pg';
import type pino from 'pino';
import type { z } from 'zod';
import { withTransaction, type Queryable } from './db.ts';
import { notFound, Problem, validationProblem } from './problem.ts';
import * as s from './schemas.ts';
import * as store from './store.ts';

/**
 * The routes of `upstream/openapi.yaml`, one handler each: validate, call the store, answer.
 * `upstream/src/openapi.test.ts` checks this router's paths and methods against the document.
 */
export function createRouter(pool: pg.Pool, logger: pino.Logger): Router {
  const router = new Router();
  // The app middleware puts a per-request child logger (with the request id) on ctx.state.
  const log = (ctx: RouterContext): pino.Logger => (ctx.state as { log?: pino.Logger }).log ?? logger;

  router.get('/health', async (ctx) => {
    await pool.query('SELECT 1');
    ctx.body = { status: 'ok' };
  });

  /** With an Idempotency-Key header: applied once, a repeat answers the recorded result. */
  const once = async (ctx: RouterContext, operation: string, userId: string, apply: (db: Queryable) => Promise<store.UserJson>) => {
    const key = ctx.get('idempotency-key');
    // In a transaction either way: a change and its row of the change feed commit together.
    if (key === '') return withTransaction(pool, (tx) => apply(store.statementSavepoints(tx)));
    if (key.length > 200)
      throw new Problem('VALIDATION_FAILED', 'the Idempotency-Key is too long', [
        { field: 'Idempotency-Key', reason: 'too_long', message: 'at most 200 characters' },
      ]);
    const { user, replayed } = await store.applyOnce(pool, key, operation, userId, apply);
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    return user;
  };

  // ---------------------------------------------------------------------------------- organisations

  router.get('/v1/channels/:channel', async (ctx) => {
    const channel = pathParam(ctx, 'channel', s.channel, 'organisation');
    const org = await store.getRootOrgByChannel(pool, channel);
    if (!org) throw notFound('organisation');
    ctx.body = org;
  });

  router.get('/v1/organisations/:orgId', async (ctx) => {
    const org = await store.getOrganisation(pool, pathParam(ctx, 'orgId', s.orgId, 'organisation'));
    if (!org) throw notFound('organisation');
    ctx.body = org;
  });

  // ------------------------------------------------------------------------------------------ users

  router.post('/v1/users', async (ctx) => {
    const { user, created } = await store.createUser(pool, body(ctx, s.createUserBody));
    ctx.status = created ? 201 : 200;
    if (created) {
      ctx.set('Location', `/v1/users/${user.id}`);
      log(ctx).info({ event: 'user.created', userId: user.id }, 'user created');
    }
    ctx.body = user;
  });

  router.post('/v1/users/search', async (ctx) => {
    ctx.body = { items: await store.searchUsers(pool, body(ctx, s.searchBody)) };
  });

  router.get('/v1/users/by-external-id/:externalId', async (ctx) => {
    const user = await store.getUserByExternalId(pool, pathParam(ctx, 'externalId', s.externalId, 'user'));
    if (!user) throw notFound('user');
    ctx.body = user;
  });

  router.get('/v1/users/:userId', async (ctx) => {
    const user = await store.getUser(pool, userIdParam(ctx));
    if (!user) throw notFound('user');
    ctx.body = user;
  });

  router.patch('/v1/users/:userId', async (ctx) => {
    const id = userIdParam(ctx);
    const changes = body(ctx, s.profileChangesBody);
    ctx.body = await once(ctx, 'updateProfile', id, (db) => store.updateProfile(db, id, changes));
    log(ctx).info({ event: 'user.profile_updated', userId: id, fields: Object.keys(changes) }, 'profile updated');
  });

  router.delete('/v1/users/:userId', async (ctx) => {
    const id = userIdParam(ctx);
    await withTransaction(pool, (tx) => store.deleteUser(tx, id));
    log(ctx).info({ event: 'user.deleted', userId: id }, 'user deleted');
    ctx.status = 204;
  });

  router.put('/v1/users/:userId/external-id', async (ctx) => {
    const id = userIdParam(ctx);
    const { externalId, replaces } = body(ctx, s.linkExternalIdBody);
    ctx.body = await withTransaction(pool, (tx) => store.linkExternalId(tx, id, externalId, replaces));
  });

  router.put('/v1/users/:userId/status', async (ctx) => {
    const id = userIdParam(ctx);
    const { status } = body(ctx, s.statusBody);
    ctx.body = await once(ctx, `setStatus:${status}`, id, (db) => store.setStatus(db, id, status));
    log(ctx).info({ event: 'user.status_set', userId: id, status }, 'status set');
  });

  // ------------------------------------------------------------------------------------ memberships

  router.get('/v1/users/:userId/memberships', async (ctx) => {
    ctx.body = { items: await store.listMemberships(pool, userIdParam(ctx)) };
  });

  router.put('/v1/users/:userId/memberships/:orgId', async (ctx) => {
    const id = userIdParam(ctx);
    const orgId = pathParam(ctx, 'orgId', s.orgId, 'organisation');
    const { roles } = body(ctx, s.membershipBody);
    const { membership, created } = await withTransaction(pool, (tx) => store.putMembership(tx, id, orgId, roles));
    ctx.status = created ? 201 : 200;
    ctx.body = membership;
  });

  router.delete('/v1/users/:userId/memberships/:orgId', async (ctx) => {
    const id = userIdParam(ctx);
    const orgId = pathParam(ctx, 'orgId', s.orgId, 'organisation');
    await withTransaction(pool, (tx) => store.deleteMembership(tx, id, orgId));
    ctx.status = 204;
  });

  /** The change feed: whose memberships, roles, status or platform link changed, in order. */
  router.get('/v1/membership-changes', async (ctx) => {
    const { after, limit } = query(ctx, s.membershipChangesQuery);
    ctx.body = await store.listMembershipChanges(pool, after, limit);
  });

  // ------------------------------------------------------------------------------------ credentials

  router.put('/v1/users/:userId/password', async (ctx) => {
    const id = userIdParam(ctx);
    await store.setPassword(pool, id, body(ctx, s.setPasswordBody).password);
    log(ctx).info({ event: 'user.password_set', userId: id }, 'password set');
    ctx.status = 204;
  });

  router.post('/v1/credentials/verify-password', async (ctx) => {
    const { login, password } = body(ctx, s.verifyPasswordBody);
    try {
      const user = await store.verifyPassword(pool, login, password);
      log(ctx).info({ event: 'password.verified', userId: user.id }, 'password verified');
      ctx.body = { user };
    } catch (error) {
      // The login itself may be an email or phone: it is never logged.
      log(ctx).info({ event: 'password.rejected' }, 'password rejected');
      throw error;
    }
  });

  router.put('/v1/users/:userId/kba', async (ctx) => {
    const id = userIdParam(ctx);
    ctx.body = { questions: await store.setKbaQuestions(pool, id, body(ctx, s.setKbaBody).questions) };
    log(ctx).info({ event: 'kba.set', userId: id }, 'kba questions set');
  });

  router.get('/v1/users/:userId/kba/questions', async (ctx) => {
    ctx.body = { questions: await store.getKbaQuestions(pool, userIdParam(ctx)) };
  });

  router.post('/v1/users/:userId/kba/verify', async (ctx) => {
    const id = userIdParam(ctx);
    const result = await store.verifyKbaAnswers(pool, id, body(ctx, s.verifyKbaBody).answers);
    log(ctx).info({ event: 'kba.verified', userId: id, result }, 'kba answers checked');
    ctx.body = { result };
  });

  // ---------------------------------------------------------------- identity verification (KBA)

  router.put('/v1/identity-records/:recordId', async (ctx) => {
    const id = pathParam(ctx, 'recordId', s.identityRecordId, 'identity record');
    ctx.body = await store.putIdentityRecord(pool, id, body(ctx, s.putIdentityRecordBody));
    log(ctx).info({ event: 'identity_record.set', recordId: id }, 'identity record set');
  });

  router.post('/v1/identity-verifications', async (ctx) => {
    const verification = await store.startVerification(pool, body(ctx, s.startVerificationBody));
    // Whether the person was found is logged, never who it was.
    log(ctx).info({ event: 'verification.started', found: verification !== null }, 'identity verification requested');
    if (!verification) throw notFound('identity');
    ctx.status = 201;
    ctx.body = verification;
  });

  router.post('/v1/identity-verifications/:verificationId/answers', async (ctx) => {
    const id = pathParam(ctx, 'verificationId', s.verificationId, 'verification');
    const outcome = await store.answerVerification(pool, id, body(ctx, s.verificationAnswersBody).answers);
    log(ctx).info({ event: 'verification.answered', verificationId: id, result: outcome.result }, 'identity verification answered');
    ctx.body = outcome;
  });

  return router;
}

function body<T extends z.ZodType>(ctx: RouterContext, schema: T): z.output<T> {
  const result = schema.safeParse(ctx.request.body, { reportInput: true });
  if (!result.success) throw validationProblem(result.error);
  return result.data;
}

function query<T extends z.ZodType>(ctx: RouterContext, schema: T): z.output<T> {
  const result = schema.safeParse(ctx.query, { reportInput: true });
  if (!result.success) throw validationProblem(result.error);
  return result.data;
}

/** A path parameter that cannot name anything (bad shape) is simply not found. */
function pathParam<T extends z.ZodType<string>>(ctx: RouterContext, name: string, schema: T, what: string): string {
  const result = schema.safeParse(ctx.params[name]);
  if (!result.success) throw notFound(what);
  return result.data;
}

const userIdParam = (ctx: RouterContext): string => pathParam(ctx, 'userId', s.userId, 'user');
