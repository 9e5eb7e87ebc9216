// `npm run realm:apply [-- --demo]`: makes the Keycloak at KEYCLOAK_URL (default: the dev stack's)
// match realm-config/. Prints each change; a second run prints "no changes".
import path from 'node:path';
import { realmConfigDir } from '../paths.ts';
import { devSettings, realmEnv } from '../settings.ts';
import { applyRealmConfig } from './apply.ts';

const settings = devSettings();
const demo = process.argv.includes('--demo');
const changes = await applyRealmConfig({
  keycloakUrl: process.env.KEYCLOAK_URL ?? `http://127.0.0.1:${settings.keycloakPort}`,
  adminUser: settings.keycloakAdminUser,
  adminPassword: settings.keycloakAdminPassword,
  configDir: process.env.REALM_CONFIG_DIR ?? realmConfigDir,
  env: realmEnv(settings),
  demo,
  log: (line) => console.log(line),
});
console.log(
  changes.length === 0
    ? 'realm-config: no changes'
    : `realm-config: ${changes.length} change(s) applied from ${path.relative(process.cwd(), realmConfigDir) || '.'}`,
);
