import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The import boundaries of bff/src are Biome's noRestrictedImports rule, configured per folder in biome.jsonc
// (docs/decisions/0025-lint-and-format.md). These tests run the real linter with the real configuration on files
// written into a scratch copy of the layout, so a wrong import is shown to fail without touching the checkout.

const repo = fileURLToPath(new URL('../../', import.meta.url));
const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
const RULE = 'lint/style/noRestrictedImports';

interface Diagnostic {
  category: string;
  message: string;
  location: { path: string };
}

/** Runs the linter as `npm run lint:code` does, with the repository's configuration, in `cwd` (on `paths`). */
function lintBoundaries(cwd: string, paths: string[] = ['.']): { status: number | null; diagnostics: Diagnostic[] } {
  const run = spawnSync(process.execPath, [biome, 'lint', '--vcs-enabled=false', '--reporter=json', '--max-diagnostics=none', ...paths], {
    cwd,
    encoding: 'utf8',
  });
  const report = JSON.parse(run.stdout) as { diagnostics: Diagnostic[] };
  return { status: run.status, diagnostics: report.diagnostics };
}

/** A file that imports `from` at `at` (a path under the repository root). */
const importing = (at: string, from: string) => ({ at, source: `import * as imported from '${from}';\nexport { imported };\n` });

// Each wrong import, from where it is written: the layer rules of README "Architecture".
const WRONG = [
  // A flow never imports an adapter, another flow, or the composition root.
  importing('bff/src/flows/sign-up/wrong-adapter.ts', '../../adapters/keycloak/admin-api.ts'),
  importing('bff/src/flows/sign-up/wrong-flow.ts', '../state-claim/service.ts'),
  importing('bff/src/flows/sign-up/wrong-flow-by-flows.ts', '../../flows/state-claim/routes.ts'),
  importing('bff/src/flows/sign-up/wrong-root.ts', '../../composition-root.ts'),
  importing('bff/src/flows/sign-up/wrong-persistence.ts', '../../persistence/orm.ts'),
  importing('bff/src/flows/sign-up/pages/wrong-adapter.ts', '../../../adapters/redis/redis-ephemeral-store.ts'),
  importing('bff/src/flows/sign-up/pages/wrong-flow.ts', '../../user-management/routes.ts'),
  { at: 'bff/src/flows/sign-up/wrong-reexport.ts', source: "export { KeycloakAdminApi } from '../../adapters/keycloak/admin-api.ts';\n" },
  { at: 'bff/src/flows/sign-up/wrong-type-only.ts', source: "import type { Config } from '../../adapters/keycloak/admin-api.ts';\nexport type { Config };\n" },
  // kernel and ports import nothing outward.
  importing('bff/src/kernel/wrong-http.ts', '../http/problem.ts'),
  importing('bff/src/kernel/flow/wrong-persistence.ts', '../../persistence/orm.ts'),
  importing('bff/src/kernel/flow/wrong-adapter.ts', '../../adapters/redis/redis-ephemeral-store.ts'),
  importing('bff/src/ports/wrong-accounts.ts', '../accounts/identifiers.ts'),
  // An adapter imports only its own folder, ports and kernel.
  importing('bff/src/adapters/redis/wrong-other-adapter.ts', '../keycloak/admin-api.ts'),
  importing('bff/src/adapters/redis/wrong-accounts.ts', '../../accounts/identifiers.ts'),
  // Only entry points import the composition root; only the composition root imports adapters.
  importing('bff/src/http/wrong-root.ts', '../composition-root.ts'),
  importing('bff/src/accounts/wrong-adapter.ts', '../adapters/keycloak/admin-api.ts'),
  importing('bff/src/accounts/wrong-flow.ts', '../flows/sign-up/routes.ts'),
  importing('bff/src/persistence/wrong-root.ts', '../composition-root.ts'),
  // An admin area, like a flow: never an adapter, a flow, another admin area or the composition root.
  importing('bff/src/admin/partners/wrong-adapter.ts', '../../adapters/keycloak/keycloak-partner-clients.ts'),
  importing('bff/src/admin/partners/wrong-flow.ts', '../../flows/partner-enrollment/routes.ts'),
  importing('bff/src/admin/partners/wrong-other-area.ts', '../members/use-cases.ts'),
  importing('bff/src/admin/members/wrong-root.ts', '../../composition-root.ts'),
];

// The imports those same layers are allowed.
const ALLOWED = [
  importing('bff/src/flows/sign-up/own-folder.ts', './routes.ts'),
  importing('bff/src/flows/sign-up/kernel.ts', '../../kernel/errors.ts'),
  importing('bff/src/flows/sign-up/port.ts', '../../ports/identity-directory.ts'),
  importing('bff/src/flows/sign-up/edge-kit.ts', '../../http/validation.ts'),
  importing('bff/src/flows/sign-up/accounts.ts', '../../accounts/identifiers.ts'),
  importing('bff/src/flows/sign-up/otp.ts', '../../otp/otp-service.ts'),
  importing('bff/src/flows/sign-up/rate-limits.ts', '../../rate-limits/rate-limiter.ts'),
  importing('bff/src/flows/sign-up/npm.ts', 'zod'),
  importing('bff/src/flows/sign-up/node.ts', 'node:crypto'),
  importing('bff/src/flows/sign-up/pages/own-flow.ts', '../routes.ts'),
  importing('bff/src/flows/sign-up/pages/kernel.ts', '../../../kernel/languages.ts'),
  importing('bff/src/admin/partners/own-folder.ts', './use-cases.ts'),
  importing('bff/src/admin/partners/partners.ts', '../../partners/partner-store.ts'),
  importing('bff/src/admin/members/upstream-sync.ts', '../../upstream-sync/outbox-store.ts'),
  importing('bff/src/admin/members/edge-kit.ts', '../../http/bearer.ts'),
  importing('bff/src/kernel/port.ts', '../ports/ephemeral-store.ts'),
  importing('bff/src/kernel/flow/kernel.ts', '../errors.ts'),
  importing('bff/src/kernel/flow/crypto.ts', '../crypto/field-encryption.ts'),
  importing('bff/src/kernel/flow/port.ts', '../../ports/ephemeral-store.ts'),
  importing('bff/src/ports/kernel.ts', '../kernel/errors.ts'),
  importing('bff/src/adapters/redis/own-folder.ts', './redis-ephemeral-store.ts'),
  importing('bff/src/adapters/redis/port.ts', '../../ports/ephemeral-store.ts'),
  importing('bff/src/adapters/redis/kernel.ts', '../../kernel/logger.ts'),
  importing('bff/src/main.ts', './composition-root.ts'),
  importing('bff/src/cli/partner.ts', '../composition-root.ts'),
  importing('bff/src/cli/members.ts', '../admin/members/use-cases.ts'),
  importing('bff/src/http/accounts.ts', '../accounts/active-account.ts'),
  importing('bff/src/flows/sign-up/wide.test.ts', '../../adapters/keycloak/admin-api.ts'),
];

describe('import boundaries (Biome noRestrictedImports, biome.jsonc)', () => {
  let scratch: string;

  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'boundaries-'));
    for (const [dir, files] of [
      ['wrong', WRONG],
      ['allowed', ALLOWED],
    ] as const) {
      for (const { at, source } of files) {
        mkdirSync(path.join(scratch, dir, path.dirname(at)), { recursive: true });
        writeFileSync(path.join(scratch, dir, at), source);
      }
      // Each set is its own project root, so the configuration's paths (bff/src/...) match as in the checkout.
      copyFileSync(path.join(repo, 'biome.jsonc'), path.join(scratch, dir, 'biome.jsonc'));
    }
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('fails on every wrong import, naming the rule and the file', () => {
    const { status, diagnostics } = lintBoundaries(path.join(scratch, 'wrong'));
    expect(status).not.toBe(0);
    const flagged = new Set(diagnostics.filter((d) => d.category === RULE).map((d) => d.location.path));
    expect([...flagged].sort()).toEqual(WRONG.map((f) => f.at).sort());
    const flow = diagnostics.find((d) => d.location.path === 'bff/src/flows/sign-up/wrong-adapter.ts');
    expect(flow?.message).toMatch(/^A flow .* never an adapter \(use a port\), another flow, or the composition root\.$/);
  });

  it('passes the imports each layer may make', () => {
    const { status, diagnostics } = lintBoundaries(path.join(scratch, 'allowed'));
    expect(diagnostics).toEqual([]);
    expect(status).toBe(0);
  });

  it("holds for today's bff/src", () => {
    const { diagnostics } = lintBoundaries(repo, ['bff/src']);
    expect(diagnostics.filter((d) => d.category === RULE).map((d) => `${d.location.path}: ${d.message}`)).toEqual([]);
  });
});
