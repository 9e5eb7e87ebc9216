import type { TestBff } from './bff.ts';

type Json = Record<string, any>;

/**
 * A flow's persisted snapshot as the runtime sees it, read with plain SQL from the test BFF's database
 * and opened with its key ring (the row holds it sealed, bound to id and kind; decision 0022).
 */
export async function openFlowSnapshot(bff: TestBff, flowId: string): Promise<Json> {
  const [row] = await bff.container.orm.em
    .getConnection()
    .execute<{ kind: string; snapshot: { sealed: string } }[]>('select kind, snapshot from flow where id = ?', [flowId]);
  if (!row) throw new Error(`no flow ${flowId}`);
  return JSON.parse(bff.container.fieldEncryption.open(row.snapshot.sealed, `flow:${flowId}:${row.kind}:snapshot`)) as Json;
}
