import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configDocs } from '../bff/src/config.ts';
import { BUILD_OPTIONS, keycloakVersion } from './keycloak.ts';
import { realmConfigDir, repoRoot, themesDir } from './paths.ts';
import { parseDatabaseUrl } from '../bff/src/persistence/database-url.ts';

const databaseName = (url: string) => parseDatabaseUrl(url).database;
import { devSettings } from './settings.ts';
import { bffEnv } from './stack.ts';
import { DEMO_PARTNER, demoFrameOrigins } from './partner-demo/demo-partner.ts';

/**
 * docker-compose.yml must describe the stack `npm start` runs natively (there is no Docker engine
 * here to try it, so these checks read the file): same Keycloak pin and options, same ports, same
 * databases, same variables, the repository's themes and realm-config mounted.
 */
interface Service {
  image?: string;
  command?: string | string[];
  environment?: Record<string, unknown> | string[];
  ports?: (string | number)[];
  volumes?: string[];
}

const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const s = devSettings({});
const serviceNames = Object.keys(compose.services);

function service(name: string): Service {
  const svc = compose.services[name];
  if (!svc) throw new Error(`docker-compose.yml has no service "${name}"`);
  return svc;
}

function env(name: string): Record<string, string> {
  const e = service(name).environment ?? {};
  const entries = Array.isArray(e) ? e.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]) : Object.entries(e);
  return Object.fromEntries(entries.map(([k, v]) => [k, String(v)]));
}

const commandOf = (name: string): string[] => {
  const c = service(name).command ?? [];
  return Array.isArray(c) ? c.map(String) : [c];
};

/** Published ports as [host, container]; "127.0.0.1:8080:8080", "8080:8080" or "8080". */
function ports(name: string): [number, number][] {
  return (service(name).ports ?? []).map((p) => {
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const container = Number(parts.at(-1));
    return [parts.length > 1 ? Number(parts.at(-2)) : container, container];
  });
}

/** Bind mounts (source starts with "."), as [source relative to the repo, target]. */
function binds(name: string): [string, string][] {
  return (service(name).volumes ?? [])
    .map((v) => v.split(':'))
    .filter(([source]) => source?.startsWith('.'))
    .map(([source, target]) => [path.relative(repoRoot, path.resolve(repoRoot, source!)) || '.', target!]);
}

/** The native stack's view of a container URL: service host names become 127.0.0.1. */
const serviceHost = new RegExp(`^(\\w[\\w+.-]*://(?:[^@/]*@)?)(${serviceNames.map((n) => n.replace(/[.-]/g, '\\$&')).join('|')})(?=[:/]|$)`);
const toNative = (value: string) => value.replace(serviceHost, '$1127.0.0.1');

const option = (args: string[], name: string) => args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);

describe('docker-compose.yml matches the native stack', () => {
  it('runs the Keycloak version pinned in keycloak/pom.xml', () => {
    expect(service('keycloak').image).toBe(`quay.io/keycloak/keycloak:${keycloakVersion()}`);
  });

  it("gives Keycloak stack/keycloak.ts's build options, on a start that may re-augment", () => {
    const args = commandOf('keycloak');
    expect(['start', 'start-dev']).toContain(args[0]);
    // The stock image is not built with these options: `--optimized` would ignore them.
    expect(args).not.toContain('--optimized');
    expect(BUILD_OPTIONS).toEqual(expect.arrayContaining(['--db=postgres', '--health-enabled=true', '--metrics-enabled=true']));
    for (const buildOption of BUILD_OPTIONS) expect(args).toContain(buildOption);
  });

  it('gives Keycloak the native ports, public URL, database and bootstrap admin', () => {
    const args = commandOf('keycloak');
    expect(option(args, '--http-port')).toBe(String(s.keycloakPort));
    expect(option(args, '--http-management-port')).toBe(String(s.keycloakManagementPort));
    expect(option(args, '--hostname')).toBe(s.keycloakPublicUrl);
    const jdbc = option(args, '--db-url') ?? '';
    expect(toNative(jdbc.replace(/^jdbc:/, ''))).toBe(`postgresql://127.0.0.1:5432/${databaseName(s.keycloakDatabaseUrl)}`);
    expect(env('keycloak')).toMatchObject({
      KC_BOOTSTRAP_ADMIN_USERNAME: s.keycloakAdminUser,
      KC_BOOTSTRAP_ADMIN_PASSWORD: s.keycloakAdminPassword,
    });
  });

  it('publishes the default ports of devSettings(), each on the same port inside, and nothing else', () => {
    const expected: Record<string, number[]> = {
      keycloak: [s.keycloakPort, s.keycloakManagementPort],
      bff: [s.bffPort],
      upstream: [s.upstreamPort],
      mail: [s.smtpPort, s.inboxPort],
      'partner-demo': [s.partnerDemoPort],
    };
    const published = Object.fromEntries(serviceNames.map((n) => [n, ports(n)] as const).filter(([, p]) => p.length > 0));
    expect(Object.keys(published).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, want] of Object.entries(expected)) {
      // Equal inside and outside: the public URLs (e.g. the token issuer) name these ports.
      for (const [host, container] of published[name]!) expect(container, `${name} ${host}:${container}`).toBe(host);
      expect(published[name]!.map(([host]) => host).sort()).toEqual([...want].sort());
    }
    expect(env('bff').BFF_PORT).toBe(String(s.bffPort));
    expect(env('upstream').UPSTREAM_PORT).toBe(String(s.upstreamPort));
    expect(env('mail')).toMatchObject({ SMTP_PORT: String(s.smtpPort), INBOX_PORT: String(s.inboxPort) });
  });

  it("mounts exactly the repository's theme folders into Keycloak", () => {
    const themes = readdirSync(themesDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    expect(themes.length).toBeGreaterThan(0);
    const mounted = binds('keycloak').filter(([, target]) => target.startsWith('/opt/keycloak/themes/'));
    expect(mounted.map(([source]) => source).sort()).toEqual(themes.map((t) => path.relative(repoRoot, path.join(themesDir, t))).sort());
    for (const [source, target] of mounted) expect(target).toBe(`/opt/keycloak/themes/${path.basename(source)}`);
  });

  it("gives Keycloak the project's providers, and the BFF URL and shared secret of platform-bff-check", () => {
    const providers = service('keycloak-providers');
    expect(commandOf('keycloak-providers').join(' ')).toContain('mvn -q -f keycloak/pom.xml package');
    const volume = (providers.volumes ?? []).find((v) => v.endsWith(':/providers'))?.split(':')[0];
    expect(service('keycloak').volumes).toContain(`${volume}:/opt/keycloak/providers:ro`);
    const kc = env('keycloak');
    expect(kc.KC_SPI_AUTHENTICATOR__PLATFORM_BFF_CHECK__SECRET).toBe(env('bff').KEYCLOAK_CALLBACK_SECRET);
    expect(kc.KC_SPI_AUTHENTICATOR__PLATFORM_BFF_CHECK__SECRET).toBe(s.keycloakCallbackSecret);
    // Natively Keycloak calls the BFF on 127.0.0.1 (stack/stack.ts); here, the bff service on its port.
    expect(toNative(kc.KC_SPI_AUTHENTICATOR__PLATFORM_BFF_CHECK__URL ?? '')).toBe(`http://127.0.0.1:${env('bff').BFF_PORT}`);
    expect(kc.KC_SPI_AUTHENTICATOR__PLATFORM_STATE_CLAIM__SECRET).toBe(env('bff').KEYCLOAK_CALLBACK_SECRET);
    expect(toNative(kc.KC_SPI_AUTHENTICATOR__PLATFORM_STATE_CLAIM__URL ?? '')).toBe(`http://127.0.0.1:${env('bff').BFF_PORT}`);
  });

  it('gives the lazy-migration, SMS-reset and sign-up-ticket authenticators the same BFF URL and shared secret', () => {
    const kc = env('keycloak');
    for (const id of ['PLATFORM_UPSTREAM_PASSWORD', 'PLATFORM_UPSTREAM_RESET', 'PLATFORM_RESET_CREDENTIAL', 'PLATFORM_SIGN_UP_TICKET']) {
      expect(kc[`KC_SPI_AUTHENTICATOR__${id}__SECRET`]).toBe(env('bff').KEYCLOAK_CALLBACK_SECRET);
      expect(kc[`KC_SPI_AUTHENTICATOR__${id}__URL`]).toBe(kc.KC_SPI_AUTHENTICATOR__PLATFORM_BFF_CHECK__URL);
    }
  });

  it('applies realm-config/ with the demo data, like `npm start`', () => {
    const mount = binds('realm-config').find(([source]) => source === path.relative(repoRoot, realmConfigDir));
    expect(mount, 'realm-config/ is mounted into the realm-config service').toBeDefined();
    expect(env('realm-config').REALM_CONFIG_DIR).toBe(mount![1]);
    expect(commandOf('realm-config')).toEqual(['node', 'stack/realm/cli.ts', '--demo']);
    expect(env('realm-config')).toMatchObject({
      KEYCLOAK_PUBLIC_URL: s.keycloakPublicUrl,
      KEYCLOAK_ADMIN_USER: s.keycloakAdminUser,
      KEYCLOAK_ADMIN_PASSWORD: s.keycloakAdminPassword,
      BFF_CLIENT_SECRET: s.bffClientSecret,
    });
    // The applier reaches Keycloak by service name, on Keycloak's port.
    expect(toNative(env('realm-config').KEYCLOAK_URL ?? '')).toBe(`http://127.0.0.1:${s.keycloakPort}`);
    // Realm mail settings point Keycloak at the service running the dev inbox.
    const smtpHost = env('realm-config').SMTP_HOST ?? '';
    expect(serviceNames).toContain(smtpHost);
    expect(env(smtpHost).SMTP_PORT).toBe(env('realm-config').SMTP_PORT);
  });

  it('bind-mounts only paths that exist in the repository', () => {
    for (const name of serviceNames) {
      for (const [source] of binds(name)) expect(existsSync(path.join(repoRoot, source)), `${name}: ./${source}`).toBe(true);
    }
  });

  it('gives the BFF only variables bff/src/config.ts knows, with the values bffEnv() gives natively', () => {
    const known = new Set(configDocs.map((d) => d.env));
    const composed = env('bff');
    for (const name of Object.keys(composed)) expect(known, `bff variable ${name}`).toContain(name);

    const native = bffEnv(s, `http://127.0.0.1:${s.upstreamPort}`);
    for (const [name, value] of Object.entries(native)) {
      expect(composed[name], name).toBeDefined();
      expect(toNative(composed[name]!), name).toBe(value);
      // What is on 127.0.0.1 natively must be another service here, not the container itself.
      if (/^\w+:\/\/(?:[^@/]*@)?127\.0\.0\.1[:/]/.test(value)) expect(composed[name], name).toMatch(serviceHost);
    }
    expect(composed.BFF_HOST).toBe('0.0.0.0');
  });

  it('lets the BFF reach Keycloak at the public URL (the issuer) from inside its container', () => {
    const keycloakUrl = new URL(env('bff').KEYCLOAK_URL ?? '');
    expect(keycloakUrl.origin).toBe(new URL(s.keycloakPublicUrl).origin);
    const script = commandOf('bff').join(' ');
    expect(script).toContain(`node docker/localhost-forward.ts ${keycloakUrl.port} keycloak`);
    expect(existsSync(path.join(repoRoot, 'docker', 'localhost-forward.ts'))).toBe(true);
    expect(script).toMatch(/migrate-cli\.ts up "\$\$BFF_DATABASE_URL" &&[\s\S]*node bff\/src\/main\.ts/);
  });

  it("lets the demo bank's page frame the super component, as `npm start` does", () => {
    const port = Number(env('partner-demo').PARTNER_DEMO_PORT);
    expect(commandOf('bff').join(' ')).toContain(
      `node bff/src/cli/partner.ts add-frame-origin ${DEMO_PARTNER.clientId} ${demoFrameOrigins(port).join(' ')} &&`,
    );
  });

  it('runs the upstream core with its native settings and the demo data', () => {
    const e = env('upstream');
    expect(toNative(e.UPSTREAM_DATABASE_URL ?? '')).toBe(s.upstreamDatabaseUrl);
    expect(e).toMatchObject({ UPSTREAM_API_KEY: s.upstreamApiKey, UPSTREAM_LOAD_DEMO_DATA: 'true', UPSTREAM_HOST: '0.0.0.0' });
    expect(commandOf('upstream')).toEqual(['node', 'upstream/src/main.ts']);
  });

  it('creates the databases devSettings() names, and the services use them', () => {
    const sql = readFileSync(path.join(repoRoot, 'docker', 'postgres-init.sql'), 'utf8').replace(/--.*$/gm, '');
    const created = [...sql.matchAll(/create\s+database\s+"?(\w+)"?/gi)].map((m) => m[1]);
    const wanted = [s.keycloakDatabaseUrl, s.bffDatabaseUrl, s.upstreamDatabaseUrl].map(databaseName);
    expect(created.sort()).toEqual([...wanted].sort());
    expect(binds('postgres')).toContainEqual([path.join('docker', 'postgres-init.sql'), expect.stringMatching(/^\/docker-entrypoint-initdb\.d\/.+\.sql$/)]);
    expect(databaseName(env('bff').BFF_DATABASE_URL ?? '')).toBe(databaseName(s.bffDatabaseUrl));
    expect(databaseName(env('upstream').UPSTREAM_DATABASE_URL ?? '')).toBe(databaseName(s.upstreamDatabaseUrl));
  });

  it('runs the Node services on the Node major the project pins (the `node` devDependency)', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const major = /\d+/.exec(pkg.devDependencies.node ?? '')?.[0];
    const nodeServices = serviceNames.filter((n) => commandOf(n)[0] === 'node' || service(n).image?.startsWith('node:'));
    expect(nodeServices).toEqual(expect.arrayContaining(['realm-config', 'mail', 'upstream', 'bff']));
    for (const name of nodeServices) expect(service(name).image, name).toBe(`node:${major}`);
    expect(statSync(path.join(repoRoot, 'stack', 'inbox-main.ts')).isFile()).toBe(true);
    expect(commandOf('mail')).toEqual(['node', 'stack/inbox-main.ts']);
  });
});
