import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NewAccount } from '../../bff/src/accounts/account-service.ts';
import { AccountCreationSchema } from '../../bff/src/accounts/account-creation.entity.ts';
import { PlatformAccountService } from '../../bff/src/accounts/platform-account-service.ts';
import { KeycloakIdentityDirectory } from '../../bff/src/adapters/keycloak/keycloak-identity-directory.ts';
import { ServiceAccountTokens } from '../../bff/src/adapters/keycloak/service-account-tokens.ts';
import { HttpUpstreamCore } from '../../bff/src/adapters/upstream-core/http-upstream-core.ts';
import { DomainError } from '../../bff/src/kernel/errors.ts';
import { createLogger } from '../../bff/src/kernel/logger.ts';
import { migrateUp } from '../../bff/src/persistence/migrate.ts';
import { createOrm, type Orm } from '../../bff/src/persistence/orm.ts';
import type { UpstreamCore } from '../../bff/src/ports/upstream-core.ts';
import { freePort } from '../support/ports.ts';
import { FieldEncryption } from '../../bff/src/kernel/crypto/field-encryption.ts';

/**
 * The account service against the real Keycloak, upstream core and PostgreSQL of the e2e stack:
 * every validation, all-or-nothing when the upstream core fails half-way, resume with the same key.
 */
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const tokens = new ServiceAccountTokens({ issuer: `${stack.keycloakUrl}/realms/${realm}`, clientId: 'bff', clientSecret: stack.settings.bffClientSecret });
const directory = new KeycloakIdentityDirectory({ keycloakUrl: stack.keycloakUrl, realm, tokens });
const upstream = new HttpUpstreamCore({ baseUrl: stack.upstreamUrl, apiKey: stack.settings.upstreamApiKey });
const logger = createLogger({ level: 'silent' });
const identifierHashKey = 'account-service-test-identifier-hash-key';
/** Every service of this file seals account_creation usernames with it: they resume each other's creations. */
const encryption = new FieldEncryption({ keys: new Map([['t1', randomBytes(32)]]), activeKeyId: 't1' });
const run = randomBytes(3).toString('hex');
const PASSWORD = 'Correct-Horse-Battery-42';
let orm: Orm;
let accounts: PlatformAccountService;
const createdUserIds: string[] = [];

beforeAll(async () => {
  orm = await createOrm({ databaseUrl: stack.settings.bffDatabaseUrl });
  await migrateUp(orm);
  accounts = new PlatformAccountService({ directory, upstream, em: orm.em, logger, identifierHashKey, encryption });
});

afterAll(async () => {
  for (const id of createdUserIds) await accounts.delete(id).catch(() => undefined);
  await orm?.close();
});

let counter = 0;
/** A fresh email account request; every call gets its own identifiers. */
function newAccount(overrides: Partial<NewAccount> = {}): NewAccount {
  counter++;
  return {
    firstName: `Test ${run} ${counter}`,
    email: `acct.${run}.${counter}@example.com`,
    emailVerified: true,
    phoneVerified: false,
    password: PASSWORD,
    signUpType: 'self',
    ...overrides,
  };
}

async function create(input: NewAccount, key = randomUUID()) {
  const result = await accounts.create(input, { idempotencyKey: key });
  createdUserIds.push(result.userId);
  return result;
}

async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    if (e instanceof DomainError) return { code: e.code, fields: e.fields.map((f) => `${f.field}:${f.reason}`) };
    throw e;
  }
  throw new Error('expected a failure');
}

/** The real upstream core, except the named operations, which go to a closed port. */
async function upstreamFailing(...failing: (keyof UpstreamCore)[]): Promise<UpstreamCore> {
  const dead = new HttpUpstreamCore({ baseUrl: `http://127.0.0.1:${await freePort()}`, apiKey: 'x'.repeat(16), retry: { maxAttempts: 1 } });
  return new Proxy(upstream, {
    get(target, name: string | symbol) {
      const source = failing.includes(name as keyof UpstreamCore) ? dead : target;
      const value = Reflect.get(source, name) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(source) : value;
    },
  });
}

const record = (keyHash: string) => orm.em.fork().findOne(AccountCreationSchema, { keyHash });

describe('AccountService.create', () => {
  it('creates the account everywhere: enabled Keycloak user with password and tenant, upstream profile and PUBLIC memberships', async () => {
    const input = newAccount({ firstName: 'MD MANZARUL', lastName: 'HAQUE', channel: 'custodian' });
    const key = randomUUID();
    const result = await create(input, key);
    expect(result.created).toBe(true);
    expect(result.username).toMatch(/^md_manzarul_haque\d{4}$/);

    const user = await directory.getUser(result.userId);
    expect(user).toMatchObject({ username: result.username, email: input.email, emailVerified: true, enabled: true, firstName: 'MD MANZARUL' });
    expect(user?.attributes).toMatchObject({ upstreamUserId: [result.upstreamUserId], signUpType: ['selfSignUp'] });
    expect((await directory.organizationsOf(result.userId)).map((o) => o.alias)).toEqual(['custodian']);

    const profile = await upstream.getUser(result.upstreamUserId);
    expect(profile).toMatchObject({ externalId: result.userId, username: result.username, email: input.email, status: 'active' });
    expect((await upstream.listMemberships(result.upstreamUserId)).map((m) => [m.organisationId, m.roles])).toEqual([['org_custodian', ['PUBLIC']]]);

    // The same key again: the same account, nothing new.
    expect(await accounts.create(input, { idempotencyKey: key })).toEqual({ ...result, created: false });
    // The same key for other details is refused.
    expect(await failure(accounts.create({ ...input, firstName: 'Someone Else' }, { idempotencyKey: key }))).toEqual({ code: 'CONFLICT', fields: [] });
  });

  it('a phone account joins the channel root and the sub-organisation; phone in E.164 with phoneVerified', async () => {
    const phone = `+9198${String(Date.now()).slice(-8)}`;
    const result = await create(
      newAccount({
        email: undefined,
        emailVerified: false,
        phone,
        phoneVerified: true,
        channel: 'state-demo',
        organisationId: 'org_state_demo_school_1',
        tenant: 'state-demo',
      }),
    );
    const user = await directory.getUser(result.userId);
    expect(user?.email).toBeUndefined();
    expect(user?.attributes).toMatchObject({ phone: [phone], phoneVerified: ['true'] });
    expect((await directory.organizationsOf(result.userId)).map((o) => o.alias)).toEqual(['state-demo']);
    expect((await upstream.getUser(result.upstreamUserId))?.phone).toBe(phone);
    expect((await upstream.listMemberships(result.upstreamUserId)).map((m) => m.organisationId).sort()).toEqual(['org_state_demo', 'org_state_demo_school_1']);
  });

  it('an organisation alone also joins its root organisation', async () => {
    const result = await create(newAccount({ organisationId: 'org_custodian_learners' }));
    expect((await upstream.listMemberships(result.upstreamUserId)).map((m) => m.organisationId).sort()).toEqual(['org_custodian', 'org_custodian_learners']);
  });

  it('transliterates non-ASCII names into the generated username', async () => {
    const result = await create(newAccount({ firstName: 'राहुल', lastName: 'Zoë' }));
    expect(result.username).toMatch(/^rahul_zoe\d{4}$/);
  });

  it('a name whose four-digit usernames are taken gets a longer number, not a refusal', async () => {
    // Every draw is 42: the first account is <name>0042; the next one's four-digit tries all meet it,
    // and the sixth try (six digits) is free. Ten four-digit tries would have ended in CONFLICT.
    const sameDraw = new PlatformAccountService({ directory, upstream, em: orm.em, logger, identifierHashKey, encryption, random: () => 42 });
    const firstName = `Common ${run}`;
    const make = async () => {
      const result = await sameDraw.create(newAccount({ firstName }), { idempotencyKey: randomUUID() });
      createdUserIds.push(result.userId);
      return result.username;
    };
    expect(await make()).toBe(`common_${run}0042`);
    expect(await make()).toBe(`common_${run}000042`);
    expect(await make()).toBe(`common_${run}00000042`);
  });

  it('takes a given username as it is (lower-cased)', async () => {
    const result = await create(newAccount({ username: `Given_${run}` }));
    expect(result.username).toBe(`given_${run}`);
  });

  it.each([
    ['an empty first name', { firstName: '  ' }, ['firstName:required']],
    ['a malformed email', { email: 'not-an-email' }, ['email:invalid_format']],
    ['a phone not in E.164', { phone: '98765 43210' }, ['phone:invalid_format']],
    ['a username with spaces', { username: 'has space' }, ['username:invalid_format']],
    ['an unknown channel', { channel: 'no-such-channel' }, ['channel:unknown']],
    ['an inactive channel', { channel: 'state-retired' }, ['channel:inactive']],
    ['an unknown organisation', { organisationId: 'org_nope' }, ['organisationId:unknown']],
    ['an inactive organisation', { organisationId: 'org_state_demo_school_2' }, ['organisationId:inactive']],
    ['an organisation of another channel', { channel: 'custodian', organisationId: 'org_state_demo_school_1' }, ['organisationId:not_in_channel']],
    ['a password against the realm policy', { password: 'short' }, ['password:policy']],
  ] as const)('refuses %s before writing anything', async (_what, overrides, fields) => {
    const username = `refused_${run}_${randomBytes(2).toString('hex')}`;
    const input = newAccount({ username, ...overrides });
    expect(await failure(accounts.create(input, { idempotencyKey: randomUUID() }))).toEqual({ code: 'VALIDATION_FAILED', fields });
    expect(await directory.findUserByUsername(username)).toBeNull();
    expect(await upstream.findUser({ username })).toBeNull();
    if (input.email && !input.email.startsWith('not')) {
      expect(await directory.findUsersByEmail(input.email)).toEqual([]);
      expect(await upstream.findUser({ email: input.email })).toBeNull();
    }
  });

  it('refuses a taken username, email or phone (also one only the upstream core has) with ACCOUNT_EXISTS naming it', async () => {
    const phone = `+9197${String(Date.now()).slice(-8)}`;
    const first = await create(newAccount({ phone, phoneVerified: true }));
    const taken = await directory.getUser(first.userId);
    expect(await failure(accounts.create(newAccount({ username: first.username }), { idempotencyKey: randomUUID() }))).toEqual({
      code: 'ACCOUNT_EXISTS',
      fields: ['username:taken'],
    });
    expect(await failure(accounts.create(newAccount({ email: taken?.email }), { idempotencyKey: randomUUID() }))).toEqual({
      code: 'ACCOUNT_EXISTS',
      fields: ['email:taken'],
    });
    expect(await failure(accounts.create(newAccount({ email: undefined, phone }), { idempotencyKey: randomUUID() }))).toEqual({
      code: 'ACCOUNT_EXISTS',
      fields: ['phone:taken'],
    });
    // An upstream profile that is no account of ours (e.g. a member not migrated yet) holds its email too.
    const upstreamOnly = newAccount().email!;
    await upstream.createUser({ externalId: randomUUID(), firstName: 'Upstream', email: upstreamOnly });
    expect(await failure(accounts.create(newAccount({ email: upstreamOnly }), { idempotencyKey: randomUUID() }))).toEqual({
      code: 'ACCOUNT_EXISTS',
      fields: ['email:taken'],
    });
  });

  it('contact candidates are stored as admin-only attributes, never as identifiers: not unique, not upstream, validated, fingerprinted', async () => {
    const email = `cand.${run}@example.com`;
    const phone = `+9198${String(Date.now()).slice(-8)}`;
    const holder = await create(newAccount({ email, phone, phoneVerified: true }));
    const candidates = { email: ` ${email.toUpperCase()} `, phone };
    // An identifier another account holds is no obstacle to a candidate, nor is another account's candidate.
    const key = randomUUID();
    const input = newAccount({ email: undefined, emailVerified: false, signUpType: 'partner', contactCandidates: candidates });
    const first = await create(input, key);
    const second = await create(newAccount({ email: undefined, emailVerified: false, signUpType: 'partner', contactCandidates: candidates }));
    for (const account of [first, second]) {
      const user = (await directory.getUser(account.userId))!;
      expect(user.email).toBeUndefined();
      expect(user.attributes).toMatchObject({ partnerContactEmail: [email], partnerContactPhone: [phone] });
      expect(user.attributes.phone).toBeUndefined();
      expect(await upstream.getUser(account.upstreamUserId)).toMatchObject({ email: null, phone: null });
    }
    expect((await directory.findUsersByEmail(email)).map((u) => u.id)).toEqual([holder.userId]);
    // Same key, same candidates: the same account; other candidates under that key: a different request.
    expect(await accounts.create(input, { idempotencyKey: key })).toMatchObject({ userId: first.userId, created: false });
    expect(await failure(accounts.create({ ...input, contactCandidates: { email: `other.${run}@example.com` } }, { idempotencyKey: key }))).toEqual({
      code: 'CONFLICT',
      fields: [],
    });
    expect(
      await failure(accounts.create(newAccount({ contactCandidates: { email: 'not an address', phone: '12345' } }), { idempotencyKey: randomUUID() })),
    ).toEqual({ code: 'VALIDATION_FAILED', fields: ['contactCandidates.email:invalid_format', 'contactCandidates.phone:invalid_format'] });
  });

  it('a weak password is reported with the policy rule and leaves nothing, and the same key then succeeds with a good one', async () => {
    const input = newAccount({ username: `weak_${run}`, password: 'short' });
    const key = randomUUID();
    const refused = await accounts.create(input, { idempotencyKey: key }).catch((e: DomainError) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect((refused as DomainError).fields).toEqual([{ field: 'password', reason: 'policy', message: expect.stringMatching(/length/i) }]);
    expect(await directory.findUserByUsername(`weak_${run}`)).toBeNull();
    expect(await upstream.findUser({ email: input.email! })).toBeNull();
    // Nothing was written, so the key may be used again, even with other details.
    const result = await create({ ...input, username: `weak2_${run}`, password: PASSWORD }, key);
    expect(result).toMatchObject({ created: true, username: `weak2_${run}` });
  });

  it('all or nothing: upstream down half-way leaves a disabled user only, and a retry with the same key completes it', async () => {
    const broken = new PlatformAccountService({
      directory,
      upstream: await upstreamFailing('createUser', 'getUser', 'getUserByExternalId', 'deleteUser'),
      em: orm.em,
      logger,
      identifierHashKey,
      encryption,
    });
    const input = newAccount({ channel: 'custodian' });
    const key = randomUUID();
    expect(await failure(broken.create(input, { idempotencyKey: key }))).toEqual({ code: 'UPSTREAM_UNAVAILABLE', fields: [] });

    // Nothing usable: the Keycloak user is disabled, the upstream core has nothing.
    const [pending] = await directory.findUsersByEmail(input.email!);
    expect(pending?.enabled).toBe(false);
    expect(await upstream.findUser({ email: input.email! })).toBeNull();

    const result = await create(input, key);
    expect(result).toMatchObject({ userId: pending?.id, created: false });
    expect(await directory.getUser(result.userId)).toMatchObject({ enabled: true, attributes: { upstreamUserId: [result.upstreamUserId] } });
    expect(await upstream.getUser(result.upstreamUserId)).toMatchObject({ externalId: result.userId, status: 'active' });
  });

  it('all or nothing: a failure after the upstream profile is undone everywhere when possible; the same key then creates afresh', async () => {
    const broken = new PlatformAccountService({
      directory,
      upstream: await upstreamFailing('addMembership'),
      em: orm.em,
      logger,
      identifierHashKey,
      encryption,
    });
    const input = newAccount({ channel: 'custodian' });
    const key = randomUUID();
    expect(await failure(broken.create(input, { idempotencyKey: key }))).toEqual({ code: 'UPSTREAM_UNAVAILABLE', fields: [] });
    expect(await directory.findUsersByEmail(input.email!)).toEqual([]);
    expect(await upstream.findUser({ email: input.email! })).toBeNull();

    const result = await create(input, key);
    expect(result.created).toBe(true);
    expect(await directory.getUser(result.userId)).toMatchObject({ enabled: true });
  });

  it('a creation abandoned half-way does not hold its identifier: another creation takes it over', async () => {
    const broken = new PlatformAccountService({
      directory,
      upstream: await upstreamFailing('createUser', 'getUser', 'getUserByExternalId', 'deleteUser'),
      em: orm.em,
      logger,
      identifierHashKey,
      encryption,
    });
    const input = newAccount();
    const abandonedKey = randomUUID();
    await failure(broken.create(input, { idempotencyKey: abandonedKey }));
    const [abandoned] = await directory.findUsersByEmail(input.email!);
    expect(abandoned?.enabled).toBe(false);

    const result = await create({ ...input, firstName: 'Second Try' });
    expect(result.created).toBe(true);
    expect(await directory.getUser(abandoned!.id)).toBeNull();
    expect((await directory.findUsersByEmail(input.email!)).map((u) => u.id)).toEqual([result.userId]);
    expect((await record(createHash('sha256').update(abandonedKey).digest('hex')))?.status).toBe('compensated');
  });

  it('two concurrent requests with the same key make one account', async () => {
    const input = newAccount();
    const key = randomUUID();
    const outcomes = await Promise.allSettled([accounts.create(input, { idempotencyKey: key }), accounts.create(input, { idempotencyKey: key })]);
    const ok = outcomes.filter((o) => o.status === 'fulfilled');
    for (const o of ok) createdUserIds.push(o.value.userId);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as DomainError).code).toBe('CONFLICT');
    expect(await directory.findUsersByEmail(input.email!)).toHaveLength(1);
  });
});

describe('AccountService.ensureProvisioned', () => {
  it('gives a Keycloak-made user (e.g. first Google login) an upstream profile, the link and the tenant; idempotent', async () => {
    const username = `google_${run}`;
    const { id } = await directory.createUser({ username, email: `${username}@example.com`, emailVerified: true, firstName: 'Goo' });
    createdUserIds.push(id);
    const first = await accounts.ensureProvisioned(id, { signUpType: 'google' });
    const again = await accounts.ensureProvisioned(id, { signUpType: 'google' });
    expect(first.created).toBe(true);
    expect(again).toEqual({ ...first, created: false });
    expect(await directory.getUser(id)).toMatchObject({ attributes: { upstreamUserId: [first.upstreamUserId], signUpType: ['google'] } });
    expect((await directory.organizationsOf(id)).map((o) => o.alias)).toEqual(['custodian']);
    expect(await upstream.getUser(first.upstreamUserId)).toMatchObject({ externalId: id, email: `${username}@example.com`, status: 'active' });
  });

  it('concurrent calls for one user (two tabs of a first login) make one upstream profile and one link', async () => {
    const username = `google_c_${run}`;
    const { id } = await directory.createUser({ username, email: `${username}@example.com`, emailVerified: true, firstName: 'Goo' });
    createdUserIds.push(id);
    const results = await Promise.all(Array.from({ length: 5 }, () => accounts.ensureProvisioned(id, { signUpType: 'google' })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.upstreamUserId)).size).toBe(1);
    expect(await directory.getUser(id)).toMatchObject({ attributes: { upstreamUserId: [results[0]!.upstreamUserId], signUpType: ['google'] } });
  });

  it('unknown user: NOT_FOUND', async () => {
    expect(await failure(accounts.ensureProvisioned(randomUUID(), { signUpType: 'google' }))).toEqual({ code: 'NOT_FOUND', fields: [] });
  });
});

describe('AccountService.delete', () => {
  it('removes the Keycloak user and deactivates the upstream profile; idempotent', async () => {
    const result = await accounts.create(newAccount(), { idempotencyKey: randomUUID() });
    await accounts.delete(result.userId);
    expect(await directory.getUser(result.userId)).toBeNull();
    expect((await upstream.getUser(result.upstreamUserId))?.status).toBe('inactive');
    await accounts.delete(result.userId);
    await accounts.delete(randomUUID());
  });

  it('finishes an interrupted delete: the upstream profile is found by externalId once the Keycloak user is gone', async () => {
    const result = await accounts.create(newAccount(), { idempotencyKey: randomUUID() });
    await directory.deleteUser(result.userId);
    await accounts.delete(result.userId);
    expect((await upstream.getUser(result.upstreamUserId))?.status).toBe('inactive');
  });
});
