import { createReadStream, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImportView, MemberImportAdmin } from '../admin/member-imports/use-cases.ts';
import type { Config } from '../config.ts';
import { isDomainError } from '../kernel/errors.ts';
import { fail, loadCliConfig } from './run.ts';

/**
 * `npm run members -- import FILE --tenant T` (decision 0035): streams the file into the same use case
 * as the admin API, then works on its rows in this process (one more worker beside the BFFs', so it
 * also finishes with no BFF running), showing progress on stderr: a bar on a terminal, a line every
 * few seconds otherwise. Prints the import (id, status, counts) as JSON on stdout once it is done,
 * and where its refused rows are listed. `import-status ID --tenant T [--result R]` shows an import
 * and its rows. A refusal exits 1 with its code and fields, as the other commands do.
 */
export async function runMemberImport(
  file: string,
  tenant: string,
  build: (config: Config) => Promise<{ admin: MemberImportAdmin; close(): Promise<void> }>,
): Promise<void> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    fail(`cannot read ${file}`);
  }
  await withAdmin(build, async (admin) => {
    const started = await admin.upload({ tenant, uploadedBy: 'cli', body: createReadStream(file), contentLength: size });
    const progress = new Progress(process.stderr);
    let view: ImportView = started;
    progress.show(view);
    while (view.status !== 'done') {
      // Rows another worker holds, or that wait for a dependency, are not this pass's: wait a little.
      if ((await admin.work(view.id)) === 0) await sleep(1000);
      view = await admin.get(tenant, view.id);
      progress.show(view);
    }
    progress.end();
    process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
    if (view.counts.refused > 0) {
      process.stderr.write(
        `${view.counts.refused} row(s) refused: npm run members -- import-status ${view.id} --tenant ${tenant} --result refused\n` +
          `  (or GET /api/admin/v1/tenants/${tenant}/imports/${view.id}/rows?result=refused)\n`,
      );
    }
  });
}

/** `import-status`: the import and a page of its rows. */
export async function runImportStatus(
  id: string,
  tenant: string,
  filter: { result?: 'pending' | 'created' | 'matched' | 'refused'; limit: number; cursor?: string },
  build: (config: Config) => Promise<{ admin: MemberImportAdmin; close(): Promise<void> }>,
): Promise<void> {
  await withAdmin(build, async (admin) => {
    const [view, rows] = [await admin.get(tenant, id), await admin.rows(tenant, id, filter)];
    process.stdout.write(`${JSON.stringify({ ...view, rows }, null, 2)}\n`);
  });
}

async function withAdmin(
  build: (config: Config) => Promise<{ admin: MemberImportAdmin; close(): Promise<void> }>,
  fn: (admin: MemberImportAdmin) => Promise<void>,
): Promise<void> {
  const { admin, close } = await build(loadCliConfig());
  try {
    await fn(admin);
  } catch (err) {
    if (!isDomainError(err)) throw err;
    process.exitCode = 1;
    process.stderr.write(`${err.code}: ${err.message}${err.fields.map((f) => `\n  ${f.field}: ${f.message}`).join('')}\n`);
  } finally {
    await close();
  }
}

/** A bar redrawn in place on a terminal; elsewhere (CI logs, pipes) a plain line at most every 5 s. */
class Progress {
  readonly #out: NodeJS.WriteStream;
  #lastLine = 0;

  constructor(out: NodeJS.WriteStream) {
    this.#out = out;
  }

  show(view: ImportView): void {
    const { total, pending, created, matched, invited, refused } = view.counts;
    const done = total - pending;
    const share = total === 0 ? 1 : done / total;
    const text = `${done}/${total} rows  created ${created}  matched ${matched}  invited ${invited}  refused ${refused}`;
    if (this.#out.isTTY) {
      const width = 30;
      const filled = Math.round(share * width);
      this.#out.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  ${text}`);
    } else if (Date.now() - this.#lastLine >= 5000 || view.status === 'done') {
      this.#lastLine = Date.now();
      this.#out.write(`import ${view.id}: ${view.status}, ${text}\n`);
    }
  }

  end(): void {
    if (this.#out.isTTY) this.#out.write('\n');
  }
}
