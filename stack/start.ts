// `npm start`: the whole stack with demo data, in the foreground. Ctrl-C stops everything it started.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { keycloakVersion } from './keycloak.ts';
import { stopEverything } from './processes.ts';
import { devSettings } from './settings.ts';
import { startStack, type RunningStack } from './stack.ts';

const settings = devSettings();
let stack: RunningStack | undefined;
let stopping = false;

async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  console.log('\n==> stopping (Keycloak takes a few seconds)…');
  await stopEverything();
  console.log('==> stopped; nothing left running');
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  stack = await startStack(settings, { demo: true, startBff: true, log: (l) => console.log(l) });
} catch (err) {
  console.error(`\n✖ ${(err as Error).message}`);
  await stop(1);
}

const s = settings;
const kc = s.keycloakPublicUrl;
const rows: [string, string][] = [
  ['Portal (sign in, profile)', `${s.bffPublicUrl}/portal/`],
  ['Partner super component demo', `${stack!.partnerDemoUrl}  (Demo Bank embedding the platform's component)`],
  ['Keycloak admin console', `${kc}/admin/  (${s.keycloakAdminUser} / ${s.keycloakAdminPassword})`],
  ['Sign-up page', `${s.bffPublicUrl}/signup`],
  ['State portal (stand-in)', `${stack!.statePortalUrl}  (signed sign-in links for the state's demo people, decision 0039)`],
  ['BFF health / readiness', `${s.bffPublicUrl}/healthz  ${s.bffPublicUrl}/readyz`],
  ['BFF OpenAPI', `${s.bffPublicUrl}/openapi.json`],
  ['Dev inbox (mail + SMS)', `${stack!.inbox.httpUrl}  (SMTP on 127.0.0.1:${s.smtpPort})`],
  ['Upstream core (reference)', `${stack!.upstreamUrl}  (API key ${s.upstreamApiKey})`],
  ['Object store (s3rver)', `${stack!.objectStore?.url ?? '(not started)'}  (bucket ${stack!.objectStore?.bucket ?? '-'}; profile pictures, decision 0038)`],
  ['Demo user (custodian)', `asha / ${s.demoUserPassword}`],
  ['Demo platform admin', `platform.admin / ${s.demoUserPassword}`],
  ['Demo state IdP users', `meera.state, arjun.state, kavya.state, devi.state / ${s.demoUserPassword}  (add kc_idp_hint=state-demo to a login URL)`],
  ['State claim demo', 'arjun.state and devi.state (phone) match a custodian account; kavya.state gives no e-mail: enter kavya.nair@example.com'],
  ['Demo Google account', `priya.google / ${s.demoUserPassword}  ("Google" button)`],
  ['Demo upstream members', upstreamMembers()],
  ['Demo partner client', `partner-demo-bank / ${s.demoPartnerClientSecret}  (client credentials)`],
  ['Logs', `${path.relative(process.cwd(), path.join('.run', s.name))}/*.log`],
];
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`\nIdentity platform is up (Keycloak ${keycloakVersion()}). Ctrl-C stops everything.\n`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
console.log('');

for (const p of stack!.processes) {
  void p.exited.then((code) => {
    if (stopping) return;
    console.error(`\n✖ ${p.name} exited (${code}); last lines of ${p.logFile}:`);
    console.error(readFileSync(p.logFile, 'utf8').split('\n').slice(-15).join('\n'));
    void stop(1);
  });
}

function upstreamMembers(): string {
  const src = readFileSync(new URL('../upstream/src/demo-data.ts', import.meta.url), 'utf8');
  const names = [...src.matchAll(/username:\s*'([^']+)'/g)].map((m) => m[1]);
  const password = /DEMO_PASSWORD = '([^']+)'/.exec(src)?.[1] ?? '';
  return names.length
    ? `${names.join(', ')} / ${password}  (upstream only: their first sign-in on the login page migrates them; e.g. ravi.kumar or 98123 45678)`
    : '(none)';
}
