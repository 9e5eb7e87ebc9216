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
 * Prints JSON on stdout. A client secret is printed only when it was just created or rotated. `--help`
 * prints the usage (exit 0); a wrong command or option prints it on stderr (exit 2); a refusal exits 1
 * with its code and fields on stderr (run.ts).
 */
import { z } from 'zod';
import { parseCommandLine, runAdminCommand, usageError } from './run.ts';
import { parseInput } from '../http/validation.ts';
import { frameOrigins, registerPartnerBody, updatePartnerBody } from '../admin/partners/schemas.ts';
import type { PartnerAdmin } from '../admin/partners/use-cases.ts';

const USAGE = `usage: npm run partner -- <command>   (help: --help)
  register --client-id ID --name NAME [--trust-auth] [--app-key KEY[:auto-enroll][:kba-bypass]]...
           [--frame-origin ORIGIN]... [--if-absent]
  show ID | list | rotate-secret ID | disable ID | enable ID
  set ID [--name NAME] [--trust-auth true|false] [--frame-origins ORIGIN,ORIGIN | --frame-origins '']
  set-app-key ID KEY --auto-enroll true|false --kba-bypass true|false
  add-frame-origin ID ORIGIN... | remove-frame-origin ID ORIGIN...
ORIGIN: https://host[:port] (http only for localhost, 127.0.0.1, [::1] unless PARTNER_FRAME_ORIGINS_ALLOW_HTTP)`;

const COMMANDS = ['register', 'show', 'list', 'rotate-secret', 'set', 'set-app-key', 'add-frame-origin', 'remove-frame-origin', 'disable', 'enable'];

const { command, args, values } = parseCommandLine(
  USAGE,
  {
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
  process.argv.slice(2).flatMap((arg, i, all) => (arg === '--trust-auth' && (all[i + 1] ?? '--').startsWith('--') ? [arg, 'true'] : [arg])),
);
if (!COMMANDS.includes(command)) usageError(USAGE, `unknown command "${command}"`);

function bool(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') usageError(USAGE, `--${name} must be true or false`);
  return value === 'true';
}

function appKeyOf(spec: string) {
  const [appKey, ...flags] = spec.split(':');
  for (const f of flags) if (f !== 'auto-enroll' && f !== 'kba-bypass') usageError(USAGE, `unknown appKey flag "${f}" (auto-enroll, kba-bypass)`);
  return { appKey: appKey ?? '', autoEnroll: flags.includes('auto-enroll'), kbaBypass: flags.includes('kba-bypass') };
}

const idArg = () => args[0] ?? usageError(USAGE, `${command} needs a partner id`);

/** The ORIGIN arguments after the partner id, normalised (a bad one: VALIDATION_FAILED naming frameOrigins.N). */
const originArgs = () => {
  if (args.length < 2) usageError(USAGE, `${command} needs a partner id and at least one ORIGIN`);
  return parseInput(z.strictObject({ frameOrigins }), { frameOrigins: args.slice(1) }).frameOrigins;
};

// Every argument is read and checked before the configuration is (`plan` answers what to run), and
// the composition root is loaded only then: `--help` and usage errors answer at once.
await runAdminCommand(
  async (config) => (await import('../composition-root.ts')).buildPartnerAdmin(config),
  (): ((admin: PartnerAdmin) => Promise<unknown>) => {
    switch (command) {
      case 'register': {
        const input = parseInput(registerPartnerBody, {
          clientId: values['client-id'],
          name: values.name,
          trustAuth: bool('trust-auth', values['trust-auth']) ?? false,
          frameOrigins: values['frame-origin'] ?? [],
          appKeys: (values['app-key'] ?? []).map(appKeyOf),
        });
        return (admin) => (values['if-absent'] ? admin.registerIfAbsent(input) : admin.register(input));
      }
      case 'show': {
        const id = idArg();
        return (admin) => admin.get(id);
      }
      case 'list':
        return (admin) => admin.list();
      case 'rotate-secret': {
        const id = idArg();
        return (admin) => admin.rotateSecret(id);
      }
      case 'set': {
        const id = idArg();
        const trustAuth = bool('trust-auth', values['trust-auth']);
        const origins = values['frame-origins'];
        const changes = parseInput(updatePartnerBody, {
          ...(values.name ? { name: values.name } : {}),
          ...(trustAuth === undefined ? {} : { trustAuth }),
          // `--frame-origins ''` removes every origin.
          ...(origins === undefined
            ? {}
            : {
                frameOrigins: origins
                  .split(',')
                  .map((o) => o.trim())
                  .filter(Boolean),
              }),
        });
        return (admin) => admin.update(id, changes);
      }
      case 'add-frame-origin':
      case 'remove-frame-origin': {
        const id = idArg();
        const origins = originArgs();
        return (admin) => (command === 'add-frame-origin' ? admin.addFrameOrigins(id, origins) : admin.removeFrameOrigins(id, origins));
      }
      case 'set-app-key': {
        const autoEnroll = bool('auto-enroll', values['auto-enroll']);
        const kbaBypass = bool('kba-bypass', values['kba-bypass']);
        const [id, appKey] = args;
        if (id === undefined || appKey === undefined || autoEnroll === undefined || kbaBypass === undefined)
          usageError(USAGE, 'set-app-key needs ID KEY --auto-enroll true|false --kba-bypass true|false');
        return (admin) => admin.putAppKey(id, { appKey, autoEnroll, kbaBypass });
      }
      case 'disable':
      case 'enable': {
        const id = idArg();
        return (admin) => admin.update(id, { enabled: command === 'enable' });
      }
      default:
        usageError(USAGE);
    }
  },
);
