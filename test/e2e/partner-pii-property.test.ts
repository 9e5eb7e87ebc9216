import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { piiSchema } from '../../bff/src/flows/partner-enrollment/schemas.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { call, platformAdminToken, registerPartner, uniqueId, type TestPartner } from '../support/partners.ts';
import { piiArb } from '../support/pii-arbitraries.ts';
import { testKeyPrefix } from '../support/redis.ts';

/**
 * Issue 14 §5 through the real stack: no PII is accepted by the partner API and then refused by a later
 * step. Generated PII (test/support/pii-arbitraries.ts: control and format characters, lone surrogates,
 * emoji, combining marks, long strings, edge dates, odd e-mails and phones) goes POST -> consent (PATCH)
 * with an autoEnroll + kbaBypass appKey, where the consent creates the account in Keycloak and the
 * upstream core. Either the POST is a 400 naming pii fields, or the POST is 201 and the PATCH 200 with a
 * userToken. Each accepted run creates an account (deleted afterwards), so the runs are few; the
 * schema's own property test (bff/src/flows/partner-enrollment/schemas.test.ts) runs thousands.
 * fast-check prints the seed and the shrunk counterexample of a failure.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const keys = testKeyPrefix(uniqueId('partner-pii'));
const kcAdmin = adminFor(stack);
const appKey = uniqueId('pii-consent');
let bff: TestBff;
let partner: TestPartner;
const created: string[] = [];

beforeAll(async () => {
  bff = await startTestBff(stack, { REDIS_PREFIX: keys.prefix });
  partner = await registerPartner(stack, bff.url, await platformAdminToken(stack), {
    trustAuth: false,
    appKeys: [{ appKey, autoEnroll: true, kbaBypass: true }],
  });
});

afterAll(async () => {
  for (const userId of created) await bff.container.accounts.delete(userId).catch(() => undefined);
  await bff?.close();
  await keys.cleanup();
});

const post = (dbpUserId: string, pii: unknown) => call(`${bff.url}/api/auth/v1`, 'POST', { token: partner.serverToken, body: { appKey, dbpUserId, pii } });
const patch = (authToken: string) => call(`${bff.url}/api/auth/v1/${authToken}`, 'PATCH');

async function mappedUser(dbpUserId: string): Promise<string | undefined> {
  const rows = await bff.container.orm.em
    .getConnection()
    .execute<{ user_id: string }[]>('select user_id from partner_user_mapping where app_key = ? and dbp_user_id = ?', [appKey, dbpUserId]);
  return rows[0]?.user_id;
}

describe('partner PII through POST and consent', () => {
  it('the NUL of the issue: 400 naming pii.firstName at the POST, no token, no user', async () => {
    const dbpUserId = uniqueId('u');
    const res = await post(dbpUserId, { firstName: 'Ri\u0000ya', lastName: 'Partner', dob: '1991-02-03' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.fields).toEqual([expect.objectContaining({ field: 'pii.firstName', reason: 'invalid_characters' })]);
    expect(res.body.authToken).toBeUndefined();
    expect(await mappedUser(dbpUserId)).toBeUndefined();
  });

  it('a name Keycloak and the upstream core accept only once trimmed and normalised is stored in that form', async () => {
    const dbpUserId = uniqueId('u');
    const res = await post(dbpUserId, { firstName: '  Jose\u0301 ', lastName: 'مهدی\u200cزاده', dob: '1991-02-03', phone: '+4407911123456' });
    expect(res.status).toBe(201);
    const consented = await patch(res.body.authToken);
    expect(consented.status).toBe(200);
    const userId = (await mappedUser(dbpUserId))!;
    created.push(userId);
    expect(await kcAdmin.get<Json>(`/${realm}/users/${userId}`)).toMatchObject({ firstName: 'José', lastName: 'مهدی\u200cزاده' });
    expect((await bff.container.upstreamCore.getUserByExternalId(userId))?.firstName).toBe('José');
  });

  it('property: either the POST is a 400 naming pii fields, or POST 201 and consent 200 with a userToken', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(piiArb, async (pii) => {
        const dbpUserId = uniqueId('u');
        const res = await post(dbpUserId, pii);
        if (res.status === 400) {
          expect(res.body.code).toBe('VALIDATION_FAILED');
          expect(res.body.fields.length).toBeGreaterThan(0);
          for (const f of res.body.fields as { field: string }[]) expect(f.field).toMatch(/^pii\./);
          expect(await mappedUser(dbpUserId)).toBeUndefined();
          return;
        }
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        accepted++;
        const consented = await patch(res.body.authToken);
        expect(consented.status, JSON.stringify(consented.body)).toBe(200);
        expect(consented.body.userToken).toEqual(expect.any(String));
        const userId = await mappedUser(dbpUserId);
        expect(userId).toBeDefined();
        created.push(userId!);
        // What is stored is what the schema made of the input: trimmed, NFC.
        const expected = piiSchema.parse(pii);
        expect(await kcAdmin.get<Json>(`/${realm}/users/${userId}`)).toMatchObject({ firstName: expected.firstName, lastName: expected.lastName });
      }),
      { numRuns: 60 },
    );
    // Not vacuous: the generators produce accepted PII about half the time.
    expect(accepted).toBeGreaterThan(10);
  }, 240_000);
});
