// For iterating on e2e tests: keeps one test stack up until Ctrl-C and writes its description, so
// `E2E_STACK_FILE=.run/e2e-shared.json npx vitest run --project e2e test/e2e/x.test.ts` skips the
// Keycloak start. CI and `npm test` never use it: they start (and remove) a fresh stack.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runDir } from '../../stack/paths.ts';
import { onStopEverything, stopEverything } from '../../stack/processes.ts';
import { startE2EStack } from './stack.ts';

// E2E_SHARED_NAME names the file, so several developers (or helpers) can each keep one up.
const file = path.join(runDir, `${process.env.E2E_SHARED_NAME ?? 'e2e-shared'}.json`);
const { stack, teardown } = await startE2EStack();
writeFileSync(file, JSON.stringify(stack, null, 2));
console.log(`shared e2e stack up; E2E_STACK_FILE=${file}`);
const s = stack.settings;
console.log(
  `realm re-apply: KEYCLOAK_URL=${stack.keycloakUrl} KEYCLOAK_PORT=${s.keycloakPort} SMTP_PORT=${s.smtpPort} BFF_PORT=${s.bffPort} BFF_PUBLIC_URL=${s.bffPublicUrl} node stack/realm/cli.ts --demo`,
);
onStopEverything(teardown);
const stop = () => void stopEverything().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
