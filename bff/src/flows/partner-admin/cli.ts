/**
 * Partner administration from the command line (`npm run partner -- <command>`), with the BFF's own
 * configuration (the same environment variables): the same use cases as the admin API.
 *
 *   register --client-id ID --name NAME [--trust-auth] [--app-key KEY[:auto-enroll][:kba-bypass]]...
 *            [--frame-origin ORIGIN]... [--if-absent]
 *   show ID | list
 *   rotate-secret ID
 *   set ID [--name NAME] [--trust-auth true|false] [--frame-origins ORIGIN,ORIGIN | --frame-origins '']
 *   set-app-key ID KEY --auto-enroll true|false --kba-bypass true|false
 *   add-frame-origin ID ORIGIN... | remove-frame-origin ID ORIGIN...
 *   disable ID | enable ID
 *
 * Prints JSON. A client secret is printed only when it was just created or rotated.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { buildPartnerAdmin } from '../../composition-root.ts';
import { fail, runAdminCommand } from '../../admin-cli.ts';
import { parseInput } from '../../http/validation.ts';
import { frameOrigins, registerPartnerBody, updatePartnerBody } from './schemas.ts';

const USAGE = `usage: npm run partner -- <command>
  register --client-id ID --name NAME [--trust-auth] [--app-key KEY[:auto-enroll][:kba-bypass]]...
           [--frame-origin ORIGIN]... [--if-absent]
  show ID | list | rotate-secret ID | disable ID | enable ID
  set ID [--name NAME] [--trust-auth true|false] [--frame-origins ORIGIN,ORIGIN | --frame-origins '']
  set-app-key ID KEY --auto-enroll true|false --kba-bypass true|false
  add-frame-origin ID ORIGIN... | remove-frame-origin ID ORIGIN...
ORIGIN: https://host[:port] (http only for localhost, 127.0.0.1, [::1] unless PARTNER_FRAME_ORIGINS_ALLOW_HTTP)`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'client-id': { type: 'string' },
    name: { type: 'string' },
    'trust-auth': { type: 'string' },
    'app-key': { type: 'string', multiple: true },
    'auto-enroll': { type: 'string' },
    'kba-bypass': { type: 'string' },
    'if-absent': { type: 'boolean' },
    'frame-origin': { type: 'string', multiple: true },
    'frame-origins': { type: 'string' },
  },
  // `--trust-auth` alone means true (register), `--trust-auth false` is explicit (set).
  args: process.argv.slice(2).flatMap((arg, i, all) => (arg === '--trust-auth' && (all[i + 1] ?? '--').startsWith('--') ? [arg, 'true'] : [arg])),
});
const [command, ...args] = positionals;


function bool(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') fail(`--${name} must be true or false`);
  return value === 'true';
}

function appKeyOf(spec: string) {
  const [appKey, ...flags] = spec.split(':');
  for (const f of flags) if (f !== 'auto-enroll' && f !== 'kba-bypass') fail(`unknown appKey flag "${f}" (auto-enroll, kba-bypass)`);
  return { appKey: appKey ?? '', autoEnroll: flags.includes('auto-enroll'), kbaBypass: flags.includes('kba-bypass') };
}

const idArg = () => args[0] ?? fail(USAGE);

/** The ORIGIN arguments after the partner id, normalised (a bad one: VALIDATION_FAILED naming frameOrigins.N). */
const originArgs = () => {
  if (args.length < 2) fail(USAGE);
  return parseInput(z.strictObject({ frameOrigins }), { frameOrigins: args.slice(1) }).frameOrigins;
};

await runAdminCommand(buildPartnerAdmin, async (admin) => {
  switch (command) {
    case 'register': {
      const input = parseInput(registerPartnerBody, {
        clientId: values['client-id'],
        name: values.name,
        trustAuth: bool('trust-auth', values['trust-auth']) ?? false,
        frameOrigins: values['frame-origin'] ?? [],
        appKeys: (values['app-key'] ?? []).map(appKeyOf),
      });
      return values['if-absent'] ? admin.registerIfAbsent(input) : admin.register(input);
    }
    case 'show':
      return admin.get(idArg());
    case 'list':
      return admin.list();
    case 'rotate-secret':
      return admin.rotateSecret(idArg());
    case 'set': {
      const trustAuth = bool('trust-auth', values['trust-auth']);
      const origins = values['frame-origins'];
      const changes = parseInput(updatePartnerBody, {
        ...(values.name ? { name: values.name } : {}),
        ...(trustAuth === undefined ? {} : { trustAuth }),
        // `--frame-origins ''` removes every origin.
        ...(origins === undefined ? {} : { frameOrigins: origins.split(',').map((o) => o.trim()).filter(Boolean) }),
      });
      return admin.update(idArg(), changes);
    }
    case 'add-frame-origin':
      return admin.addFrameOrigins(idArg(), originArgs());
    case 'remove-frame-origin':
      return admin.removeFrameOrigins(idArg(), originArgs());
    case 'set-app-key': {
      const autoEnroll = bool('auto-enroll', values['auto-enroll']);
      const kbaBypass = bool('kba-bypass', values['kba-bypass']);
      if (args[1] === undefined || autoEnroll === undefined || kbaBypass === undefined) fail(USAGE);
      return admin.putAppKey(idArg(), { appKey: args[1], autoEnroll, kbaBypass });
    }
    case 'disable':
    case 'enable':
      return admin.update(idArg(), { enabled: command === 'enable' });
    default:
      fail(USAGE);
  }
});
