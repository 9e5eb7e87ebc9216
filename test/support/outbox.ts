import { expect } from 'vitest';
import { call } from './partners.ts';

type Json = Record<string, any>;

/** Polls until `check` holds; the test's own timeout bounds the wait (no timed assertion). */
export async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 100));
}

/** The upstream outbox through the admin API of a test BFF: the listing, and one member's rows. */
export function outboxAdmin(target: () => { bffUrl: string; adminToken: string }) {
  async function outbox(query = ''): Promise<Json> {
    const { bffUrl, adminToken } = target();
    const res = await call(`${bffUrl}/api/admin/v1/upstream-outbox${query}`, 'GET', { token: adminToken });
    expect(res.status).toBe(200);
    return res.body;
  }
  const rowsOf = async (userId: string): Promise<Json[]> => (await outbox(`?userId=${userId}&limit=500`)).items;
  return { outbox, rowsOf };
}
