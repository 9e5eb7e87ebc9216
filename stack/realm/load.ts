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

/**
 * A top-level authentication flow: its executions in order, a subflow given inline with its own
 * executions. Aliases of subflows and authenticator configs are realm-wide in Keycloak: keep them unique.
 */
export interface AuthenticationFlowFile {
  alias: string;
  description?: string;
  executions: ExecutionFile[];
}

export type Requirement = 'REQUIRED' | 'ALTERNATIVE' | 'CONDITIONAL' | 'DISABLED';

export type ExecutionFile =
  | { authenticator: string; requirement: Requirement; config?: { alias: string; config: Record<string, string> } }
  | { flow: string; description?: string; requirement: Requirement; executions: ExecutionFile[] };

/** A built-in required action's switches and its config (e.g. UPDATE_EMAIL's `verifyEmail`). */
export interface RequiredActionFile {
  alias: string;
  enabled?: boolean;
  defaultAction?: boolean;
  config?: Record<string, string>;
}

/** One realm as declared in `realm-config/realms/<folder>/`. */
export interface RealmFiles {
  folder: string;
  realm: Json & { realm: string; roles?: { realm?: Json[] } };
  userProfile?: Json;
  authenticationFlows: AuthenticationFlowFile[];
  /** Required actions that differ from Keycloak's defaults (`required-actions.json`), by alias. */
  requiredActions: RequiredActionFile[];
  /** Realm-level client scopes (with their protocol mappers), before the clients that name them. */
  clientScopes: Json[];
  clients: Json[];
  identityProviders: Json[];
  organizations: Json[];
  users: UserFile[];
  /** Realm localization texts by locale (`localization/<locale>.json`: message key -> text). */
  localization: Record<string, Record<string, string>>;
}

const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

const listJson = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => path.join(dir, f))
    : [];

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
      const requiredActions = path.join(dir, 'required-actions.json');
      return {
        folder,
        realm: sub(readJson(path.join(dir, 'realm.json'))),
        ...(existsSync(profile) ? { userProfile: sub<Json>(readJson(profile)) } : {}),
        authenticationFlows: listJson(path.join(dir, 'authentication-flows')).map((f) => sub<AuthenticationFlowFile>(readJson(f))),
        requiredActions: existsSync(requiredActions) ? sub<RequiredActionFile[]>(readJson(requiredActions)) : [],
        clientScopes: listJson(path.join(dir, 'client-scopes')).map((f) => sub<Json>(readJson(f))),
        clients: listJson(path.join(dir, 'clients')).map((f) => sub<Json>(readJson(f))),
        identityProviders: listJson(path.join(dir, 'identity-providers')).map((f) => sub<Json>(readJson(f))),
        organizations: listJson(path.join(dir, 'organizations')).map((f) => sub<Json>(readJson(f))),
        users: listJson(path.join(dir, 'users')).flatMap((f) => sub<UserFile[]>(readJson(f))),
        localization: Object.fromEntries(
          listJson(path.join(dir, 'localization')).map((f) => [path.basename(f, '.json'), sub<Record<string, string>>(readJson(f))]),
        ),
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
