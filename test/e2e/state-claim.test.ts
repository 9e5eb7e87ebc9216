import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ttlSeconds } from '../../bff/src/ports/ephemeral-store.ts';
import { setUpAuthenticatorApp } from '../support/authenticator-app.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { launchBrowser } from '../support/browser.ts';
import { call, platformAdminToken, registerPartner } from '../support/partners.ts';
import { stateClaimKit } from '../support/state-claim.ts';
import { openFlowSnapshot } from '../support/flow-rows.ts';
import { inboxMessages } from '../support/inbox.ts';

/**
 * The claim flow's guarantees at the level where a browser adds nothing: the BFF's internal endpoints
 * (as Keycloak's platform-state-claim calls them, with the shared secret) and the pages' JSON steps,
 * against real Keycloak, upstream core, PostgreSQL and Redis. docs/decisions/0011-state-claim.md
 */
type Json = Record<string, any>;
const stack = inject('stack');
const kit = stateClaimKit(stack);
const secret = stack.settings.keycloakCallbackSecret;
const returnUrl = `${stack.keycloakUrl}/realms/${kit.realm}/login-actions/first-broker-login?session_code=test&execution=test&tab_id=test`;

let bff: TestBff;
beforeAll(async () => {
  bff = await startTestBff(stack, kit.bffEnv);
});
afterAll(async () => {
  await bff?.close();
  await kit.close();
});

const sql = (b: TestBff, query: string, params: unknown[] = []) => b.container.orm.em.getConnection().execute(query, params);

interface Person {
  identityProvider: string;
  brokeredUserId: string;
  brokeredUsername: string;
  firstName: string;
  lastName: string;
  stateUserId: string;
  /** Keycloak's login session as platform-state-claim sends it (root auth session id + tab id). */
  loginSession: string;
  email?: string;
}
const person = (email?: string): Person => ({
  identityProvider: 'state-demo',
  brokeredUserId: `brokered-${randomBytes(6).toString('hex')}`,
  brokeredUsername: 'state.person',
  firstName: 'Stateperson',
  lastName: 'Api',
  stateUserId: `SD-${randomBytes(3).toString('hex')}`,
  loginSession: `${randomBytes(16).toString('hex')}.tab-1`,
  ...(email ? { email } : {}),
});

async function start(b: TestBff, p: Person): Promise<string> {
  const res = await call(`${b.url}/internal/v1/keycloak/state-claim`, 'POST', { token: secret, body: { ...p, returnUrl } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.redirectUrl).toBe(`${b.url}/state-claim/${res.body.flowId}`);
  return String(res.body.flowId);
}
const step = (b: TestBff, flowId: string, name: string, body: unknown) => call(`${b.url}/state-claim/${flowId}/${name}`, 'POST', { body });
/**
 * The way back to Keycloak with a fresh handoff id: a decided flow's page redirects there at once (no
 * page asked anything); a migrated one says what was done, its "Continue" leads there (decision 0030).
 */
async function handoffOf(b: TestBff, flowId: string): Promise<string> {
  const res = await fetch(`${b.url}/state-claim/${flowId}`, { redirect: 'manual' });
  const href = res.status === 302 ? res.headers.get('location')! : /id="continue" href="([^"]+)"/.exec(await res.text())?.[1]?.replaceAll('&amp;', '&');
  expect(href, `no way back to Keycloak (HTTP ${res.status})`).toBeTruthy();
  const location = new URL(href!);
  expect(location.href.startsWith(returnUrl.split('?')[0]!)).toBe(true);
  return location.searchParams.get('handoff')!;
}
/** The flow's state as stored. */
const stateOf = async (b: TestBff, flowId: string) => String(((await sql(b, 'select state from flow where id = ?', [flowId])) as Json[])[0]!.state);
const complete = (b: TestBff, flowId: string, handoffId: string, p: Person) =>
  call(`${b.url}/internal/v1/keycloak/state-claim/${flowId}/complete`, 'POST', { token: secret, body: { ...p, handoffId } });

/**
 * A person whose IdP asserts `email`, matching a custodian account, who refutes it: the confirmation
 * page, nothing changed yet. `confirmed`: and confirms, which migrates at once (decision 0030).
 */
async function refutedFlow(b: TestBff = bff, opts: { confirmed?: boolean } = {}) {
  const email = `api-${kit.sfx()}@example.test`;
  const custodianId = await kit.custodianAccount(b, { email });
  const p = person(email);
  const flowId = await start(b, p);
  expect((await step(b, flowId, 'answer', { answer: 'not-mine' })).status).toBe(200);
  expect(await stateOf(b, flowId)).toBe('confirmNew');
  if (opts.confirmed) expect((await step(b, flowId, 'confirm', {})).body.location).toBe(`/state-claim/${flowId}?lang=en`);
  return { email, custodianId, p, flowId };
}

/** A person whose IdP asserts an e-mail nobody holds: decided "new" at once; Keycloak's completion creates the account. */
async function noMatchFlow(b: TestBff = bff) {
  const email = `free-${kit.sfx()}@example.test`;
  const p = person(email);
  const flowId = await start(b, p);
  expect(await stateOf(b, flowId)).toBe('decided');
  return { email, p, flowId };
}

/** Nothing was applied: the custodian account still holds the identifier, enabled, in its tenant; no other holder. */
async function expectUntouched(custodianId: string, email: string) {
  const u = await kit.user(custodianId);
  expect(u).toMatchObject({ email, enabled: true });
  expect(u.attributes.retiredIdentifiers).toBeUndefined();
  expect(await kit.tenants(custodianId)).toEqual(['custodian']);
  expect(await kit.enabledHolders({ email })).toEqual([custodianId]);
}

describe('internal endpoints', () => {
  it('need the shared secret (401) and a valid body (400 naming fields)', async () => {
    expect((await call(`${bff.url}/internal/v1/keycloak/state-claim`, 'POST', { body: { ...person(), returnUrl } })).status).toBe(401);
    const bad = await call(`${bff.url}/internal/v1/keycloak/state-claim`, 'POST', { token: secret, body: { identityProvider: 'state-demo' } });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: Json) => f.field).sort()).toEqual(['brokeredUserId', 'loginSession', 'returnUrl']);
    const unknownIdp = await call(`${bff.url}/internal/v1/keycloak/state-claim`, 'POST', {
      token: secret,
      body: { ...person(), identityProvider: 'google', returnUrl },
    });
    expect(unknownIdp.status).toBe(400);
    expect(unknownIdp.body.fields[0]).toMatchObject({ field: 'identityProvider', reason: 'unknown' });
  });

  it("keep Keycloak's language: a locale of ours goes with the browser to the first page (issue 17 §5); another one leaves it to the browser", async () => {
    const started = async (locale: string) =>
      (await call(`${bff.url}/internal/v1/keycloak/state-claim`, 'POST', { token: secret, body: { ...person(), returnUrl, locale } })).body;
    const hi = await started('hi');
    expect(hi.redirectUrl).toBe(`${bff.url}/state-claim/${hi.flowId}?lang=hi`);
    const page = await fetch(hi.redirectUrl, { headers: { 'accept-language': 'en' } });
    expect(await page.text()).toContain('<html lang="hi"');
    const enGb = await started('en-GB');
    expect(enGb.redirectUrl).toBe(`${bff.url}/state-claim/${enGb.flowId}?lang=en`);
    const fr = await started('fr');
    expect(fr.redirectUrl).toBe(`${bff.url}/state-claim/${fr.flowId}`);
    // A flow that asks nothing: the account Keycloak's completion creates speaks that language.
    const email = `locale-${kit.sfx()}@example.test`;
    const p = person(email);
    const res = await call(`${bff.url}/internal/v1/keycloak/state-claim`, 'POST', { token: secret, body: { ...p, returnUrl, locale: 'hi-IN' } });
    const done = await complete(bff, res.body.flowId, await handoffOf(bff, res.body.flowId), p);
    expect((await kit.user(done.body.userId)).attributes.locale).toEqual(['hi']);
  });
});

describe('page steps refuse through the one problem table (issue 15 §7)', () => {
  const problemOf = (res: { status: number; body: Json; headers: Headers }) => ({ status: res.status, type: res.headers.get('content-type'), body: res.body });

  it('bad input, a step the state does not take, a double submit, an unknown or expired flow: problem+json with a stable code and the page to show', async () => {
    const p = person();
    const flowId = await start(bff, p);
    const page = `/state-claim/${flowId}?lang=en`;

    const bad = problemOf(await step(bff, flowId, 'identifier', { identifier: 'not an address' }));
    expect(bad).toMatchObject({ status: 400, type: expect.stringContaining('application/problem+json') });
    expect(bad.body).toMatchObject({ type: 'urn:problem:validation-failed', status: 400, code: 'VALIDATION_FAILED', location: `${page}&error=identifier` });
    expect(bad.body.fields).toEqual([expect.objectContaining({ field: 'identifier', reason: 'invalid_format' })]);
    const extra = problemOf(await step(bff, flowId, 'continue', { go: true }));
    expect(extra.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', fields: [expect.objectContaining({ field: 'go', reason: 'not_allowed' })] });

    // The flow waits for an identifier: "continue" and "mine" are not its steps (another tab, a hand-made request).
    for (const [name, body] of [
      ['continue', {}],
      ['answer', { answer: 'mine' }],
    ] as const) {
      const wrongStep = problemOf(await step(bff, flowId, name, body));
      expect(wrongStep).toMatchObject({ status: 409, type: expect.stringContaining('application/problem+json') });
      expect(wrongStep.body).toMatchObject({ code: 'CONFLICT', location: page });
    }

    const lock = `state-claim:lock:${flowId}`;
    expect(await bff.container.ephemeralStore.setIfAbsent(lock, 'in-flight', ttlSeconds(30))).toBe(true);
    const busy = problemOf(await step(bff, flowId, 'identifier', { identifier: `busy-${kit.sfx()}@example.test` }));
    await bff.container.ephemeralStore.delete(lock);
    expect(busy.body).toMatchObject({ status: 409, code: 'FLOW_CONFLICT', location: `${page}&error=busy` });

    const unknown = `${randomBytes(4).toString('hex')}-0000-4000-8000-000000000000`;
    const gone = problemOf(await step(bff, unknown, 'continue', {}));
    expect(gone.body).toMatchObject({ status: 404, code: 'NOT_FOUND', location: `/state-claim/${unknown}?lang=en` });

    await sql(bff, "update flow set expires_at = now() - interval '1 second' where id = ?", [flowId]);
    const expired = problemOf(await step(bff, flowId, 'identifier', { identifier: `late-${kit.sfx()}@example.test` }));
    expect(expired.body).toMatchObject({ status: 410, code: 'FLOW_EXPIRED', location: page });
    const expiredPage = await fetch(`${bff.url}/state-claim/${flowId}?lang=hi`);
    expect(expiredPage.status).toBe(410);
    expect(expiredPage.headers.get('content-type')).toContain('text/html');
    // A way forward: a fresh sign-in, in the page's language.
    expect(await expiredPage.text()).toContain(`id="start-again" href="${bff.url}/portal/?lang=hi"`);
  });

  it('a dependency down: 503 problem+json with Retry-After and nothing internal; the step did not happen', async () => {
    const email = `down-${kit.sfx()}@example.test`;
    await kit.custodianAccount(bff, { email });
    const p = person();
    const flowId = await start(bff, p);
    expect((await step(bff, flowId, 'identifier', { identifier: email })).status).toBe(200);
    const code = await kit.latestCode('mails', email);
    // The code is right; the look-up that follows needs Keycloak, which this BFF cannot reach.
    const down = await startTestBff(stack, { ...kit.bffEnv, KEYCLOAK_URL: 'http://127.0.0.1:9' });
    try {
      const answer = await step(down, flowId, 'code', { code });
      const res = problemOf(answer);
      expect(res).toMatchObject({ status: 503, type: expect.stringContaining('application/problem+json') });
      expect(res.body).toMatchObject({ code: 'IDENTITY_DIRECTORY_UNAVAILABLE', status: 503 });
      expect(res.body.location).toBeUndefined();
      expect(JSON.stringify(res.body)).not.toContain('127.0.0.1');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await down.close();
    }
    const [row] = (await sql(bff, 'select state from flow where id = ?', [flowId])) as Json[];
    expect(row!.state).toBe('codeSent');
  });
});

describe('who holds the identifier (issue 15 §4; the browser tests walk each page)', () => {
  it('an enabled account of another tenant holding it unproven: no page; the new state account gets it and that account loses it (decision 0019)', async () => {
    const email = `unproven-${kit.sfx()}@example.test`;
    const otherId = await kit.tenantAccount(bff, 'state-other-test', { email, verified: false });
    const p = person(email);
    const flowId = await start(bff, p);
    const done = await complete(bff, flowId, await handoffOf(bff, flowId), p);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ created: true, outcome: 'new:no-match' });
    expect(await kit.enabledHolders({ email })).toEqual([done.body.userId]);
    const other = await kit.user(otherId);
    expect(other).toMatchObject({ enabled: true });
    expect(other.email ?? null).toBeNull();
    expect(other.attributes.retiredIdentifiers).toEqual([`email:${email}`]);
  });

  it('a custodian account holding it unproven, refuted: it keeps its account (enabled, in custodian) and loses only the identifier to the new one (decision 0019); the pages say so', async () => {
    const email = `unconfirmed-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email, verified: false });
    const p = person(email);
    const flowId = await start(bff, p);
    expect((await step(bff, flowId, 'answer', { answer: 'not-mine' })).status).toBe(200);
    const confirmation = await (await fetch(`${bff.url}/state-claim/${flowId}?lang=en`)).text();
    expect(confirmation).toContain('stays open, but');
    expect(confirmation).not.toContain('will be closed');
    expect((await step(bff, flowId, 'confirm', {})).status).toBe(200);
    expect(await (await fetch(`${bff.url}/state-claim/${flowId}?lang=en`)).text()).toContain('The account that had it stays open without it.');
    const done = await complete(bff, flowId, await handoffOf(bff, flowId), p);
    expect(done.body).toMatchObject({ created: true, outcome: 'new:refuted' });
    const holder = await kit.user(custodianId);
    expect(holder.enabled).toBe(true);
    expect(holder.email ?? null).toBeNull();
    expect(holder.attributes.retiredIdentifiers).toEqual([`email:${email}`]);
    expect(await kit.tenants(custodianId)).toEqual(['custodian']);
    expect(await kit.enabledHolders({ email })).toEqual([done.body.userId]);
    const [takeover] = (await sql(bff, 'select operation, status, winner_user_id from identifier_takeover where loser_user_id = ?', [custodianId])) as Json[];
    expect(takeover).toMatchObject({ operation: 'state-claim', status: 'done', winner_user_id: done.body.userId });
  });

  it('an upstream member linked to an account Keycloak recorded as deleted: closed, never brought back; the new state account gets the identifier', async () => {
    const email = `deleted-link-${kit.sfx()}@example.test`;
    const member = await kit.upstreamOnlyMember({ email });
    const gone = String(await kit.admin.post(`/${kit.realm}/users`, { username: `gone-${kit.sfx()}`, firstName: 'Gone', enabled: true }));
    await kit.admin.delete(`/${kit.realm}/users/${gone}`);
    await kit.upstreamSql('update users set external_id = $1 where id = $2', [gone, member.id]);
    const p = person(email);
    const flowId = await start(bff, p);
    const [row] = (await sql(bff, 'select state from flow where id = ?', [flowId])) as Json[];
    expect(row!.state).toBe('closedHolder');
    expect((await step(bff, flowId, 'continue', {})).status).toBe(200);
    const done = await complete(bff, flowId, await handoffOf(bff, flowId), p);
    expect(done.body).toMatchObject({ created: true, outcome: 'new:closed-holder' });
    expect((await kit.upstream(`/v1/users/${member.id}`)).body).toMatchObject({ email: null, externalId: gone });
    expect(await kit.accountsOfMember(member.id)).toEqual([]);
    expect(await kit.enabledHolders({ email })).toEqual([done.body.userId]);
  });

  it('a claimed upstream-only member: Keycloak down at the import changes nothing ("try again", the decision kept); a retry after a crash half-way uses the account made then (one record)', async () => {
    const email = `member-retry-${kit.sfx()}@example.test`;
    const member = await kit.upstreamOnlyMember({ email });
    const p = person(email);
    const flowId = await start(bff, p);
    await step(bff, flowId, 'answer', { answer: 'mine' });
    // The core finds the password right; the import that follows at once needs Keycloak, which this BFF cannot reach.
    const down = await startTestBff(stack, { ...kit.bffEnv, KEYCLOAK_URL: 'http://127.0.0.1:9' });
    try {
      const right = await step(down, flowId, 'password', { password: kit.PASSWORD });
      expect(right.status).toBe(200);
      expect(right.body.location).toBe(`/state-claim/${flowId}?lang=en`);
    } finally {
      await down.close();
    }
    expect(await stateOf(bff, flowId)).toBe('notApplied');
    expect((await openFlowSnapshot(bff, flowId)).context).toMatchObject({ decision: 'claim', reason: 'claimed', passwordTries: 0 });
    expect(await (await fetch(`${bff.url}/state-claim/${flowId}?lang=en`)).text()).toContain('id="retry"');
    expect(await kit.accountsOfMember(member.id)).toEqual([]);

    // What a crash after the import's first write leaves: the member's account, disabled, not linked yet.
    const halfway = String(
      await kit.admin.post(`/${kit.realm}/users`, {
        username: member.username,
        email,
        emailVerified: true,
        firstName: 'Upstream',
        enabled: false,
        attributes: { upstreamUserId: [member.id], signUpType: ['upstreamMigration'] },
      }),
    );
    expect((await step(bff, flowId, 'retry', {})).status).toBe(200);
    expect(await stateOf(bff, flowId)).toBe('finished');
    const done = await complete(bff, flowId, await handoffOf(bff, flowId), p);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ userId: halfway, outcome: 'claim:claimed' });
    expect((await kit.accountsOfMember(member.id)).map((a) => String(a.id))).toEqual([halfway]);
    expect(await kit.tenants(halfway)).toEqual(['state-demo']);
    expect((await kit.upstream(`/v1/users/${member.id}`)).body).toMatchObject({ externalId: halfway });
    expect(await kit.enabledHolders({ email })).toEqual([halfway]);
  });
});

describe('the account to move or strip is resolved on the server', () => {
  it('a step naming another account is refused (400) and changes nothing; the refute strips only the account of the verified identifier', async () => {
    const victimEmail = `victim-${kit.sfx()}@example.test`;
    const victimId = await kit.custodianAccount(bff, { email: victimEmail });
    const { email, custodianId, p } = await (async () => {
      const email = `own-${kit.sfx()}@example.test`;
      const custodianId = await kit.custodianAccount(bff, { email });
      return { email, custodianId, p: person(email) };
    })();
    const flowId = await start(bff, p);
    const sneaky = await step(bff, flowId, 'answer', { answer: 'not-mine', userId: victimId });
    expect(sneaky.status).toBe(400);
    expect(sneaky.body.fields[0]).toMatchObject({ field: 'userId', reason: 'not_allowed' });
    const sneakyPassword = await step(bff, flowId, 'password', { password: 'x', accountId: victimId });
    expect(sneakyPassword.status).toBe(400);

    expect((await step(bff, flowId, 'answer', { answer: 'not-mine' })).status).toBe(200);
    expect((await step(bff, flowId, 'confirm', { userId: victimId })).status).toBe(400);
    expect((await step(bff, flowId, 'confirm', {})).status).toBe(200);
    const done = await complete(bff, flowId, await handoffOf(bff, flowId), p);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ created: true, outcome: 'new:refuted' });
    await expectUntouched(victimId, victimEmail);
    expect((await kit.user(custodianId)).enabled).toBe(false);
    expect(await kit.enabledHolders({ email })).toEqual([done.body.userId]);
  });
});

describe('the identifier handoff', () => {
  it('is sealed with AES-GCM (fresh nonce each time), and neither it nor the flow keeps the identifier in clear', async () => {
    const { email, flowId } = await refutedFlow(bff, { confirmed: true });
    const a = await handoffOf(bff, flowId);
    const b = await handoffOf(bff, flowId);
    const rows = (await sql(bff, 'select id, ciphertext, key_id from identifier_handoff where id in (?, ?)', [a, b])) as Json[];
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.ciphertext).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      expect(r.ciphertext).not.toContain(email);
      expect(r.ciphertext.split('.')[1]).toBe(r.key_id);
    }
    expect(rows[0]!.ciphertext.split('.')[2].slice(0, 16)).not.toBe(rows[1]!.ciphertext.split('.')[2].slice(0, 16));
    const flow = (await sql(bff, 'select snapshot::text as s from flow where id = ?', [flowId])) as Json[];
    expect(flow[0]!.s).not.toContain(email);
    // Sealed as a whole (decision 0022); inside, the identifier is sealed again, only its mask in clear.
    const opened = JSON.stringify(await openFlowSnapshot(bff, flowId));
    expect(opened).not.toContain(email);
    expect(opened).toContain('•••@example.test');
  });

  it('tampered, expired, of another flow, person or login session, or replayed: 400 naming the field, nothing changed', async () => {
    // A flow that decided without a page: Keycloak's completion is what creates its account.
    const { email, p, flowId } = await noMatchFlow();
    const nothingYet = async () => expect(await kit.usersWithEmail(email)).toEqual([]);

    const tampered = await handoffOf(bff, flowId);
    const [row] = (await sql(bff, 'select ciphertext from identifier_handoff where id = ?', [tampered])) as Json[];
    const c = String(row!.ciphertext);
    const flipped = c.slice(0, -5) + (c.at(-5) === 'A' ? 'B' : 'A') + c.slice(-4);
    await sql(bff, 'update identifier_handoff set ciphertext = ? where id = ?', [flipped, tampered]);
    const t = await complete(bff, flowId, tampered, p);
    expect(t.status).toBe(400);
    expect(t.body.fields[0]).toMatchObject({ field: 'handoffId', reason: 'tampered' });

    const expired = await handoffOf(bff, flowId);
    await sql(bff, "update identifier_handoff set expires_at = now() - interval '1 second' where id = ?", [expired]);
    expect((await complete(bff, flowId, expired, p)).body.fields[0]).toMatchObject({ field: 'handoffId', reason: 'expired' });

    const other = await noMatchFlow();
    const othersHandoff = await handoffOf(bff, other.flowId);
    expect((await complete(bff, flowId, othersHandoff, p)).body.fields[0]).toMatchObject({ field: 'handoffId', reason: 'other_flow' });
    // The right flow and handoff, but Keycloak's login session is someone else's.
    const mine = await handoffOf(bff, flowId);
    const impostor = await complete(bff, flowId, mine, { ...p, brokeredUserId: 'someone-else' });
    expect(impostor.status).toBe(400);
    expect(impostor.body.fields[0]).toMatchObject({ field: 'brokeredUserId', reason: 'other_person' });
    expect((await complete(bff, flowId, 'not-a-handoff', p)).body.fields[0]).toMatchObject({ field: 'handoffId', reason: 'unknown' });
    await nothingYet();

    // Carried into another Keycloak login session (even of the same person): a replay, refused.
    const otherSession = await complete(bff, flowId, mine, { ...p, loginSession: 'another-root-session.tab-9' });
    expect(otherSession.status).toBe(400);
    expect(otherSession.body.fields[0]).toMatchObject({ field: 'loginSession', reason: 'other_session' });
    await nothingYet();

    const ok = await complete(bff, flowId, mine, p);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const replay = await complete(bff, flowId, mine, { ...p, loginSession: 'another-root-session.tab-9' });
    expect(replay.status).toBe(400);
    // The same session asking again (Keycloak lost the answer): the same answer, nothing runs twice.
    const repeated = await complete(bff, flowId, mine, p);
    expect(repeated.status).toBe(200);
    expect(repeated.body).toEqual(ok.body);
    // Another handoff of the same (now finished) flow, never redeemed: spent with it.
    const sibling = await complete(bff, flowId, expired, p);
    expect(sibling.body.fields[0]).toMatchObject({ field: 'handoffId', reason: 'used' });
    await sql(bff, "update identifier_handoff set expires_at = now() + interval '1 minute' where id = ?", [expired]);
    expect((await complete(bff, flowId, expired, p)).body.fields[0]).toMatchObject({ field: 'handoffId', reason: 'used' });
    expect(await kit.enabledHolders({ email })).toEqual([ok.body.userId]);
    expect((await kit.usersWithEmail(email)).length).toBe(1);
  });
});

describe('persisted flow', () => {
  it('a BFF restart at any step resumes: started on one process, finished on another', async () => {
    const email = `restart-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email });
    const p = person(email);
    const first = await startTestBff(stack, kit.bffEnv);
    const flowId = await start(first, p);
    expect((await step(first, flowId, 'answer', { answer: 'mine' })).status).toBe(200);
    await first.close();

    const second = await startTestBff(stack, kit.bffEnv, { captureLogs: true });
    try {
      const wrong = await step(second, flowId, 'password', { password: 'Not-the-password-1' });
      expect(wrong.body.location).toContain(`/state-claim/${flowId}`);
      const right = await step(second, flowId, 'password', { password: kit.PASSWORD });
      expect(right.body.location).toBe(`/state-claim/${flowId}?lang=en`);
      const handoff = await handoffOf(second, flowId);
      const done = await complete(second, flowId, handoff, p);
      expect(done.body).toMatchObject({ userId: custodianId, created: false, outcome: 'claim:claimed' });
      expect(await kit.tenants(custodianId)).toEqual(['state-demo']);
      // Logged at trace level, yet no password, identifier, handoff or login session.
      const logs = second.logs();
      expect(logs).toContain('state claim completed');
      for (const secret of [kit.PASSWORD, 'Not-the-password-1', email, p.loginSession, handoff]) expect(logs).not.toContain(secret);
    } finally {
      await second.close();
    }
  });

  it('Keycloak lost the whole login after the migration: the next login of that state identity resumes with the migrated account', async () => {
    const email = `lost-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email });
    const p = person(email);
    const flowId = await start(bff, p);
    await step(bff, flowId, 'answer', { answer: 'mine' });
    await step(bff, flowId, 'password', { password: kit.PASSWORD });
    const done = await complete(bff, flowId, await handoffOf(bff, flowId), p);
    expect(done.body).toMatchObject({ userId: custodianId, outcome: 'claim:claimed' });
    expect((await kit.user(custodianId)).attributes.stateSubject).toEqual([`state-demo:${p.brokeredUserId}`]);

    // Keycloak never linked (its login session is gone); the person signs in again: a new session.
    const again = { ...p, loginSession: `${randomBytes(16).toString('hex')}.tab-2` };
    const next = await start(bff, again);
    const resumed = await complete(bff, next, await handoffOf(bff, next), again);
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body).toEqual({ userId: custodianId, created: false, outcome: 'resume:already-migrated' });
    expect(await kit.tenants(custodianId)).toEqual(['state-demo']);
    expect(await kit.enabledHolders({ email })).toEqual([custodianId]);
  });

  it('an account with an authenticator app: a password without its code is not a try, a wrong code is one, password and code claim it', async () => {
    const email = `app-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email });
    const browser = await launchBrowser();
    const app = await setUpAuthenticatorApp(stack, browser, { userId: custodianId, login: email, password: kit.PASSWORD }).finally(() => browser.close());
    const p = person(email);
    const flowId = await start(bff, p);
    await step(bff, flowId, 'answer', { answer: 'mine' });
    const context = async () => (await openFlowSnapshot(bff, flowId)).context;
    expect(await context()).toMatchObject({ secondFactor: true, passwordTries: 0 });
    const page = await (await fetch(`${bff.url}/state-claim/${flowId}?lang=en`)).text();
    expect(page).toContain('id="otp"');

    // Keycloak refuses the right password without the code; that must not count against the person.
    const withoutCode = await step(bff, flowId, 'password', { password: kit.PASSWORD });
    expect(withoutCode.status).toBe(200);
    expect(await context()).toMatchObject({ passwordTries: 0, error: 'code-required' });
    const badCode = await step(bff, flowId, 'password', { password: kit.PASSWORD, otp: '12ab56' });
    expect(badCode.status).toBe(400);
    expect(badCode.body.fields).toEqual([expect.objectContaining({ field: 'otp', reason: 'invalid_format' })]);
    expect(badCode.body.location).toContain('error=code-required');

    const wrongCode = await step(bff, flowId, 'password', { password: kit.PASSWORD, otp: app.nextCode() === '000000' ? '111111' : '000000' });
    expect(wrongCode.status).toBe(200);
    expect(await context()).toMatchObject({ passwordTries: 1, error: 'password-wrong' });
    await step(bff, flowId, 'password', { password: kit.PASSWORD, otp: app.nextCode() });
    const done = await complete(bff, flowId, await handoffOf(bff, flowId), p);
    expect(done.body).toMatchObject({ userId: custodianId, created: false, outcome: 'claim:claimed' });
    expect(await kit.tenants(custodianId)).toEqual(['state-demo']);
  });

  it('two tabs or a double submit cannot apply it twice', async () => {
    const { email, p, flowId } = await noMatchFlow();
    const handoff = await handoffOf(bff, flowId);
    const results = await Promise.all([complete(bff, flowId, handoff, p), complete(bff, flowId, handoff, p)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(200);
    expect([400, 409]).toContain(statuses[1]);
    const created = results.find((r) => r.status === 200)!.body.userId;
    expect(await kit.enabledHolders({ email })).toEqual([created]);
    expect(await kit.usersWithEmail(email)).toHaveLength(1);

    // The confirmation sent twice at once: one migration, one new account; the other request is refused.
    const refuted = await refutedFlow();
    const twice = await Promise.all([step(bff, refuted.flowId, 'confirm', {}), step(bff, refuted.flowId, 'confirm', {})]);
    expect(twice.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await stateOf(bff, refuted.flowId)).toBe('finished');
    expect((await kit.user(refuted.custodianId)).enabled).toBe(false);
    expect(await kit.usersWithEmail(refuted.email)).toHaveLength(1);

    // A password sent while another step of the flow is in flight (a double submit) is refused and not counted.
    const email2 = `double-${kit.sfx()}@example.test`;
    await kit.custodianAccount(bff, { email: email2 });
    const p2 = person(email2);
    const flow2 = await start(bff, p2);
    await step(bff, flow2, 'answer', { answer: 'mine' });
    const lock = `state-claim:lock:${flow2}`;
    expect(await bff.container.ephemeralStore.setIfAbsent(lock, 'in-flight', ttlSeconds(30))).toBe(true);
    const during = await step(bff, flow2, 'password', { password: 'Wrong-1' });
    expect(during.status).toBe(409);
    expect(during.body.location).toContain('error=busy');
    await bff.container.ephemeralStore.delete(lock);
    expect((await step(bff, flow2, 'password', { password: 'Wrong-2' })).status).toBe(200);
    const [row] = (await sql(bff, 'select state from flow where id = ?', [flow2])) as Json[];
    expect(row!.state).toBe('passwordEntry');
    expect((await openFlowSnapshot(bff, flow2)).context.passwordTries).toBe(1);
  });
});

describe('the upstream core down at the migration', () => {
  it('at the confirmation: nothing applied, the decision kept, the page offers "try again"; the retry migrates', async () => {
    const { email, custodianId, p, flowId } = await refutedFlow();
    const down = await startTestBff(stack, { ...kit.bffEnv, UPSTREAM_URL: 'http://127.0.0.1:9', UPSTREAM_RETRIES: '0' });
    try {
      const res = await step(down, flowId, 'confirm', {});
      expect(res.status).toBe(200);
      expect(res.body.location).toBe(`/state-claim/${flowId}?lang=en`);
    } finally {
      await down.close();
    }
    await expectUntouched(custodianId, email);
    expect(await stateOf(bff, flowId)).toBe('notApplied');
    const page = await (await fetch(`${bff.url}/state-claim/${flowId}?lang=en`)).text();
    expect(page).toContain('data-step="not-applied"');
    expect(page).toContain('id="retry"');

    expect((await step(bff, flowId, 'retry', {})).status).toBe(200);
    expect(await stateOf(bff, flowId)).toBe('finished');
    expect((await kit.user(custodianId)).enabled).toBe(false);
    const done = await complete(bff, flowId, await handoffOf(bff, flowId), p);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(await kit.enabledHolders({ email })).toEqual([done.body.userId]);
  });

  it('at Keycloak\'s completion (no page asked anything): 503 (Keycloak shows "try again"), nothing applied, the handoff kept; the retry completes', async () => {
    const { email, p, flowId } = await noMatchFlow();
    const handoff = await handoffOf(bff, flowId);
    const down = await startTestBff(stack, { ...kit.bffEnv, UPSTREAM_URL: 'http://127.0.0.1:9', UPSTREAM_RETRIES: '0' });
    try {
      const res = await complete(down, flowId, handoff, p);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('UPSTREAM_UNAVAILABLE');
    } finally {
      await down.close();
    }
    expect(await kit.usersWithEmail(email)).toEqual([]);
    const [row] = (await sql(bff, 'select consumed_at, lease_until from identifier_handoff where id = ?', [handoff])) as Json[];
    expect(row).toMatchObject({ consumed_at: null, lease_until: null });

    const retry = await complete(bff, flowId, handoff, p);
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(await kit.enabledHolders({ email })).toEqual([retry.body.userId]);
  });
});

describe('Keycloak down at the migration', () => {
  it("at Keycloak's completion: 503, nothing applied, the handoff kept; the retry completes", async () => {
    const { email, p, flowId } = await noMatchFlow();
    const handoff = await handoffOf(bff, flowId);
    const down = await startTestBff(stack, { ...kit.bffEnv, KEYCLOAK_URL: 'http://127.0.0.1:9' });
    try {
      const res = await complete(down, flowId, handoff, p);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('IDENTITY_DIRECTORY_UNAVAILABLE');
    } finally {
      await down.close();
    }
    expect(await kit.usersWithEmail(email)).toEqual([]);
    const retry = await complete(bff, flowId, handoff, p);
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(await kit.enabledHolders({ email })).toEqual([retry.body.userId]);
  });
});

/** Decision 0030: nothing is closed unconfirmed; "Forgot password?" recovers the matched account and claims it. */
describe('confirmation and recovery', () => {
  const page = async (b: TestBff, flowId: string, lang = 'en') => (await fetch(`${b.url}/state-claim/${flowId}?lang=${lang}`)).text();
  const stepIn = (b: TestBff, flowId: string, name: string, body: unknown, lang: string) =>
    call(`${b.url}/state-claim/${flowId}/${name}?lang=${lang}`, 'POST', { body });
  const canSignIn = async (username: string, password: string) =>
    bff.container.userApiTokens.passwordGrant(username, password).then(
      () => true,
      () => false,
    );

  it("two wrong passwords: the confirmation offers only the recovery; its code goes to the identifier in the page language, with its own purpose; wrong codes are limited like sign-up's", async () => {
    const email = `recover-limit-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email });
    const p = person(email);
    const flowId = await start(bff, p);
    await step(bff, flowId, 'answer', { answer: 'mine' });
    await step(bff, flowId, 'password', { password: 'Not-the-password-1' });
    await step(bff, flowId, 'password', { password: 'Not-the-password-2' });
    expect(await stateOf(bff, flowId)).toBe('confirmNew');
    expect(await page(bff, flowId)).toContain('id="forgot"');
    // No third password, and "back" is not a way around the two tries.
    expect((await step(bff, flowId, 'password', { password: kit.PASSWORD })).body.code).toBe('CONFLICT');
    expect((await step(bff, flowId, 'back', {})).body.code).toBe('CONFLICT');
    await expectUntouched(custodianId, email);

    const before = (await inboxMessages(stack, 'mails', email)).length;
    expect((await stepIn(bff, flowId, 'forgot', {}, 'hi')).body.location).toBe(`/state-claim/${flowId}?lang=hi`);
    const [mail] = ((await inboxMessages(stack, 'mails', email)) as Json[]).slice(before);
    expect(mail).toMatchObject({ subject: 'पासवर्ड रीसेट करने के लिए आपका कोड' });
    expect(await page(bff, flowId, 'hi')).toContain('data-step="recovery-code"');
    const code = await kit.latestCode('mails', email);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) expect((await step(bff, flowId, 'code', { code: wrong })).status).toBe(200);
    expect((await openFlowSnapshot(bff, flowId)).context).toMatchObject({ error: 'code-invalid' });
    // The sixth is refused before it is compared, the right code too: a wait, counted down on the page.
    await step(bff, flowId, 'code', { code });
    expect((await openFlowSnapshot(bff, flowId)).context).toMatchObject({ error: 'rate-limited', retryAfterSeconds: expect.any(Number) });
    expect(await stateOf(bff, flowId)).toBe('recoveryCode');
    expect(await page(bff, flowId)).toMatch(/data-countdown="\d+"/);
    await expectUntouched(custodianId, email);
    // Back: the confirmation again, still nothing changed.
    await step(bff, flowId, 'back', {});
    expect(await stateOf(bff, flowId)).toBe('confirmNew');
    await expectUntouched(custodianId, email);
  });

  it('forgot password: the right code, then a new password the policy accepts, claims the account; its password is the new one', async () => {
    const email = `recover-${kit.sfx()}@example.test`;
    const custodianId = await kit.custodianAccount(bff, { email });
    const { username } = await kit.user(custodianId);
    const p = person(email);
    const flowId = await start(bff, p);
    await step(bff, flowId, 'answer', { answer: 'mine' });
    await step(bff, flowId, 'password', { password: 'Not-the-password-1' });
    const before = (await inboxMessages(stack, 'mails', email)).length;
    await step(bff, flowId, 'forgot', {});
    const code = await kit.latestCode('mails', email, before);
    // A recovery code is no proof before it is entered: the new password step is not open yet.
    expect((await step(bff, flowId, 'new-password', { password: 'Brand-new-pass-2026' })).body.code).toBe('CONFLICT');
    await step(bff, flowId, 'code', { code });
    expect(await stateOf(bff, flowId)).toBe('newPassword');
    expect(await page(bff, flowId)).toContain('id="password-rules"');

    // Refused by our rules (too short) and by Keycloak's (the account's current password: passwordHistory): nothing set.
    await step(bff, flowId, 'new-password', { password: 'short' });
    expect((await openFlowSnapshot(bff, flowId)).context.error).toBe('password-policy');
    await step(bff, flowId, 'new-password', { password: kit.PASSWORD });
    expect((await openFlowSnapshot(bff, flowId)).context.error).toBe('password-reused');
    expect(await canSignIn(username, kit.PASSWORD)).toBe(true);
    await expectUntouched(custodianId, email);

    const fresh = `Brand-new-pass-${kit.sfx()}`;
    expect((await step(bff, flowId, 'new-password', { password: fresh, userId: custodianId })).status).toBe(400);
    expect((await step(bff, flowId, 'new-password', { password: fresh })).status).toBe(200);
    expect(await stateOf(bff, flowId)).toBe('finished');
    const finished = await page(bff, flowId);
    expect(finished).toContain('Its password was changed.');
    expect(finished).toContain('is now part of State of Demo');
    const done = await complete(bff, flowId, await handoffOf(bff, flowId), p);
    expect(done.body).toEqual({ userId: custodianId, created: false, outcome: 'claim:recovered' });
    expect(await kit.tenants(custodianId)).toEqual(['state-demo']);
    expect(await canSignIn(username, fresh)).toBe(true);
    expect(await canSignIn(username, kit.PASSWORD)).toBe(false);
  });
});

describe('audit', () => {
  it('every decision and step is recorded and queryable by a platform admin (401 / 403 otherwise), without the identifier in clear', async () => {
    const { email, custodianId, p, flowId } = await refutedFlow(bff, { confirmed: true });
    const done = await complete(bff, flowId, await handoffOf(bff, flowId), p);
    const api = `${bff.url}/api/admin/v1/state-claims/audit?flowId=${flowId}`;
    expect((await call(api, 'GET')).status).toBe(401);
    const adminToken = await platformAdminToken(stack);
    const partner = await registerPartner(stack, bff.url, adminToken, { trustAuth: false, appKeys: [] });
    expect((await call(api, 'GET', { token: partner.serverToken })).status).toBe(403);

    const res = await call(api, 'GET', { token: adminToken });
    expect(res.status).toBe(200);
    // The confirmation migrates (decision 0030); the page that says so issues the handoff; Keycloak completes.
    const items = res.body.items as Json[];
    expect(items.map((i) => i.event)).toEqual([
      'started',
      'match-found',
      'step:not_mine',
      'confirmation-asked',
      'step:confirm',
      'decided',
      'migrated',
      'handoff-issued',
      'completed',
    ]);
    expect(items.find((i) => i.event === 'confirmation-asked')).toMatchObject({ custodianUserId: custodianId, resultUserId: null });
    expect(items.find((i) => i.event === 'migrated')).toMatchObject({ custodianUserId: custodianId, resultUserId: done.body.userId, detail: 'new:refuted' });
    expect(items.at(-1)).toMatchObject({
      custodianUserId: custodianId,
      resultUserId: done.body.userId,
      detail: 'new:refuted',
      identityProvider: 'state-demo',
      brokeredUserId: p.brokeredUserId,
      identifierMasked: 'a•••@example.test',
    });
    expect(JSON.stringify(res.body)).not.toContain(email);

    const byIdentifier = await call(`${bff.url}/api/admin/v1/state-claims/audit?identifier=${encodeURIComponent(email.toUpperCase())}&max=2`, 'GET', {
      token: adminToken,
    });
    expect(byIdentifier.body).toMatchObject({ total: 9, first: 0 });
    expect(byIdentifier.body.items).toHaveLength(2);
    const bad = await call(`${bff.url}/api/admin/v1/state-claims/audit?max=0&flowId=x`, 'GET', { token: adminToken });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: Json) => f.field).sort()).toEqual(['flowId', 'max']);
  });
});
