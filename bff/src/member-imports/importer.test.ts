import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isDomainError } from '../kernel/errors.ts';
import type { ImportStore, NewRow } from './import-store.ts';
import { receiveMemberFile } from './importer.ts';

/**
 * The streaming importer over a store that records what it was asked (the SQL store is tested
 * against PostgreSQL in test/e2e/member-import.test.ts): rows in batches with their results, and
 * nothing kept for a bad header, a file over the limits or an upload cut short.
 */
function recordingStore() {
  const calls: { created: number; batches: NewRow[][]; received?: number; discarded: number } = { created: 0, batches: [], discarded: 0 };
  const store = {
    create: async () => {
      calls.created += 1;
      return 'import-1';
    },
    addRows: async (_id: string, rows: NewRow[]) => {
      if (rows.length > 0) calls.batches.push(rows);
    },
    received: async (_id: string, total: number) => {
      calls.received = total;
    },
    discard: async () => {
      calls.discarded += 1;
    },
  } as unknown as ImportStore;
  return { store, calls };
}

const settings = { defaultPhoneCountry: 'IN', maxBytes: 10_000, maxRows: 5, batchSize: 2 };
const receive = (store: ImportStore, body: Readable, over: Partial<typeof settings> = {}) =>
  receiveMemberFile({ store, hashKey: 'k'.repeat(32), settings: { ...settings, ...over } }, { tenant: 'state-demo', uploadedBy: 'admin', body });

async function refusal(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    if (isDomainError(err)) return { code: err.code, fields: err.fields.map((f) => `${f.field}:${f.reason}`) };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('receiveMemberFile', () => {
  it('stores the rows in batches as they stream, refused ones with their reason, then marks the file received', async () => {
    const { store, calls } = recordingStore();
    const csv =
      'state_user_id,first_name,email\r\nS-1,Asha,asha@example.org\r\n"S-2",Ravi,bad\r\n\r\nS-1,Again,again@example.org\r\nS-4,"Multi\nLine",m@example.org\r\n';
    expect(await receive(store, Readable.from([csv.slice(0, 20), csv.slice(20)]))).toBe('import-1');
    expect(calls.batches.map((b) => b.length)).toEqual([2, 2]);
    expect(calls.batches.flat().map((r) => [r.line, r.refused ?? 'pending'])).toEqual([
      [2, 'pending'],
      [3, 'email_invalid'],
      [5, 'duplicate_state_user_id'],
      [7, 'first_name_invalid'],
    ]);
    expect(calls.received).toBe(4);
  });

  it('a bad header: refused before anything is stored', async () => {
    const { store, calls } = recordingStore();
    expect(await refusal(receive(store, Readable.from(['who,first_name\nS-1,A\n'])))).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(calls).toMatchObject({ created: 0, batches: [] });
  });

  it('over the row or byte limit, not CSV, or cut short: refused and the import deleted', async () => {
    const rows = (n: number) => `state_user_id,first_name,email\n${Array.from({ length: n }, (_, i) => `S-${i},A,a${i}@example.org`).join('\n')}\n`;
    const tooMany = recordingStore();
    expect(await refusal(receive(tooMany.store, Readable.from([rows(6)])))).toEqual({ code: 'PAYLOAD_TOO_LARGE', fields: ['body:too_large'] });
    expect(tooMany.calls.discarded).toBe(1);
    const tooBig = recordingStore();
    const file = rows(3);
    const header = file.indexOf('\n') + 1;
    expect(await refusal(receive(tooBig.store, Readable.from([file.slice(0, header), file.slice(header)]), { maxBytes: 60 }))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    // Refused as soon as the bytes pass the limit: whatever was created of it is deleted.
    expect(tooBig.calls.discarded).toBe(tooBig.calls.created);
    const notCsv = recordingStore();
    expect(await refusal(receive(notCsv.store, Readable.from(['state_user_id,first_name,email\n"S-1,A,a@example.org\n'])))).toMatchObject({
      fields: ['body:malformed_csv'],
    });
    expect(notCsv.calls.discarded).toBe(notCsv.calls.created);

    const cut = recordingStore();
    const body = new PassThrough();
    const pending = receive(cut.store, body);
    body.write(rows(2));
    setTimeout(() => body.destroy(), 20);
    expect(await refusal(pending)).toEqual({ code: 'VALIDATION_FAILED', fields: ['body:incomplete'] });
    expect(cut.calls).toMatchObject({ created: 1, discarded: 1 });
    expect(cut.calls.received).toBeUndefined();
  });
});
