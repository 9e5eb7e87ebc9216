import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainError } from '../../bff/src/kernel/errors.ts';
import { MAX_FRAME_ORIGINS } from '../../bff/src/partners/frame-origins.ts';
import { PartnerStore } from '../../bff/src/partners/partner-store.ts';
import { migrateUp } from '../../bff/src/persistence/migrate.ts';
import { createOrm, type Orm } from '../../bff/src/persistence/orm.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/** The frame origins of partners in PostgreSQL (issue 14 §4): what the super component's CSP is built from. */
let db: TestDatabase;
let orm: Orm;
let partners: PartnerStore;

beforeAll(async () => {
  db = await createTestDatabase('frame_origins');
  orm = await createOrm({ databaseUrl: db.url });
  await migrateUp(orm);
  partners = new PartnerStore({ em: orm.em });
});

afterAll(async () => {
  await orm?.close();
  await db?.drop();
});

const stored = async (clientId: string) =>
  (await orm.em.getConnection().execute<{ frame_origins: string[] }[]>('select frame_origins from partner_client where client_id = ?', [clientId]))[0]
    ?.frame_origins;
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: DomainError) => ({ code: e.code, fields: e.fields.map((f) => `${f.field}:${f.reason}`) }),
  );
const origin = (i: number) => `https://web${i}.bank.example`;

describe('PartnerStore frame origins', () => {
  it('are stored with the partner (none by default) and answered for an enabled partner only', async () => {
    await partners.createPartner({ clientId: 'plain-bank', name: 'Plain', trustAuth: false, appKeys: [] });
    expect(await stored('plain-bank')).toEqual([]);
    expect((await partners.getPartner('plain-bank'))?.frameOrigins).toEqual([]);

    const created = await partners.createPartner({
      clientId: 'framing-bank',
      name: 'Framing',
      trustAuth: false,
      frameOrigins: ['https://bank.example', 'http://localhost:3100', 'https://bank.example'],
      appKeys: [],
    });
    expect(created.frameOrigins).toEqual(['https://bank.example', 'http://localhost:3100']);
    expect(await stored('framing-bank')).toEqual(['https://bank.example', 'http://localhost:3100']);
    expect(await partners.frameOriginsOf('framing-bank')).toEqual(['https://bank.example', 'http://localhost:3100']);
    expect(await partners.frameOriginsOf('no-such-bank')).toEqual([]);

    await partners.updatePartner('framing-bank', { enabled: false });
    expect(await partners.frameOriginsOf('framing-bank')).toEqual([]);
    await partners.updatePartner('framing-bank', { enabled: true });
    expect(await partners.frameOriginsOf('framing-bank')).toEqual(['https://bank.example', 'http://localhost:3100']);
  });

  it('are replaced by an update, and other updates leave them alone', async () => {
    await partners.createPartner({ clientId: 'replace-bank', name: 'R', trustAuth: false, frameOrigins: [origin(1)], appKeys: [] });
    await partners.updatePartner('replace-bank', { name: 'R2' });
    expect(await stored('replace-bank')).toEqual([origin(1)]);
    expect((await partners.updatePartner('replace-bank', { frameOrigins: [origin(2), origin(3)] })).frameOrigins).toEqual([origin(2), origin(3)]);
    expect((await partners.updatePartner('replace-bank', { frameOrigins: [] })).frameOrigins).toEqual([]);
    expect(await stored('replace-bank')).toEqual([]);
  });

  it('add and remove are idempotent, and concurrent changes never lose one another', async () => {
    await partners.createPartner({ clientId: 'busy-bank', name: 'B', trustAuth: false, frameOrigins: [origin(0)], appKeys: [] });
    // Ten admins (or test files) adding at once, one removing: a read-modify-write without the row
    // lock would keep only some of them.
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => partners.changeFrameOrigins('busy-bank', { add: [origin(i + 1)] })),
      partners.changeFrameOrigins('busy-bank', { remove: [origin(0)] }),
    ]);
    const after = await stored('busy-bank');
    expect([...after!].sort()).toEqual(Array.from({ length: 10 }, (_, i) => origin(i + 1)).sort());

    const before = (await partners.getPartner('busy-bank'))!;
    const again = await partners.changeFrameOrigins('busy-bank', { add: [origin(1)], remove: ['https://absent.example'] });
    expect(again.frameOrigins).toEqual(after);
    expect(again.updatedAt).toEqual(before.updatedAt);

    expect(await errorOf(partners.changeFrameOrigins('no-such-bank', { add: [origin(1)] }))).toEqual({ code: 'NOT_FOUND', fields: [] });
  });

  it(`refuse more than ${MAX_FRAME_ORIGINS} origins per partner, changing nothing`, async () => {
    const full = Array.from({ length: MAX_FRAME_ORIGINS }, (_, i) => origin(i));
    await partners.createPartner({ clientId: 'full-bank', name: 'F', trustAuth: false, frameOrigins: full, appKeys: [] });
    expect(await errorOf(partners.changeFrameOrigins('full-bank', { add: ['https://one-more.example'] }))).toEqual({
      code: 'VALIDATION_FAILED',
      fields: ['frameOrigins:too_many'],
    });
    expect(await stored('full-bank')).toEqual(full);
    // Swapping one for another in the same change is fine.
    expect((await partners.changeFrameOrigins('full-bank', { add: ['https://one-more.example'], remove: [origin(0)] })).frameOrigins).toHaveLength(
      MAX_FRAME_ORIGINS,
    );
  });
});
