import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { substitute } from './template.ts';

type Json = Record<string, unknown>;

export interface UserFile extends Json {
  username: string;
  password?: string;
  organizations?: string[];
  realmRoles?: string[];
}

/** One realm as declared in `realm-config/realms/<folder>/`. */
export interface RealmFiles {
  folder: string;
  realm: Json & { realm: string; roles?: { realm?: Json[] } };
  userProfile?: Json;
  clients: Json[];
  identityProviders: Json[];
  organizations: Json[];
  users: UserFile[];
}

const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

const listJson = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(dir, f)) : [];

/** Reads every realm folder (and, with `demo`, the demo users), substituting placeholders from `env`. */
export function loadRealmConfig(configDir: string, env: Record<string, string | undefined>, opts: { demo: boolean }): RealmFiles[] {
  const missing = new Set<string>();
  const realmsDir = path.join(configDir, 'realms');
  const realms = readdirSync(realmsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((folder): RealmFiles => {
      const dir = path.join(realmsDir, folder);
      const sub = <T>(v: unknown) => substitute(v, env, missing) as T;
      const profile = path.join(dir, 'user-profile.json');
      return {
        folder,
        realm: sub(readJson(path.join(dir, 'realm.json'))),
        ...(existsSync(profile) ? { userProfile: sub<Json>(readJson(profile)) } : {}),
        clients: listJson(path.join(dir, 'clients')).map((f) => sub<Json>(readJson(f))),
        identityProviders: listJson(path.join(dir, 'identity-providers')).map((f) => sub<Json>(readJson(f))),
        organizations: listJson(path.join(dir, 'organizations')).map((f) => sub<Json>(readJson(f))),
        users: listJson(path.join(dir, 'users')).flatMap((f) => sub<UserFile[]>(readJson(f))),
      };
    });
  if (opts.demo) {
    // Demo users of the platform realm: loaded by `npm start`, never by a production apply.
    const platform = realms.find((r) => r.folder === 'platform');
    const demoFile = path.join(configDir, 'demo', 'platform-users.json');
    if (platform && existsSync(demoFile)) platform.users.push(...substitute(readJson(demoFile) as UserFile[], env, missing));
  }
  if (missing.size > 0) {
    throw new Error(`realm-config needs these variables (set them in the environment): ${[...missing].sort().join(', ')}`);
  }
  return realms;
}
