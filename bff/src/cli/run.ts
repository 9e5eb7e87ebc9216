import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { isDomainError } from '../kernel/errors.ts';

/**
 * The shell the admin command lines share (`npm run partner`, `npm run members`). They behave like
 * command lines: `--help` (or `help`) prints the usage on stdout and exits 0; a wrong command or
 * option prints what was wrong and the usage on stderr and exits 2, before any configuration is read
 * or anything is connected. The command's answer is JSON on stdout, anything else goes to stderr:
 * exit 1 on a refusal (its code and fields), 78 on bad configuration.
 */
export function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** The BFF's configuration, or exit 78 naming what is wrong with it. */
export function loadCliConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 78);
    throw err;
  }
}

/** Wrong usage: what was wrong (if anything more than the usage says), then the usage, on stderr; exit 2. */
export function usageError(usage: string, problem?: string): never {
  fail(problem ? `${problem}\n${usage}` : usage);
}

/**
 * The command line parsed strictly (`node:util` parseArgs): an unknown option or a missing value is a
 * usage error, not a stack trace. `help` / `--help` / `-h` print `usage` and exit 0; no command at
 * all is a usage error.
 */
export function parseCommandLine<const O extends ParseArgsOptionsConfig>(usage: string, options: O, args: string[] = process.argv.slice(2)) {
  type Options = O & { help: { type: 'boolean'; short: 'h' } };
  const withHelp = { ...options, help: { type: 'boolean', short: 'h' } } as Options;
  const parse = () => {
    try {
      return parseArgs<{ args: string[]; options: Options; allowPositionals: true; strict: true }>({
        args,
        options: withHelp,
        allowPositionals: true,
        strict: true,
      });
    } catch (err) {
      if (isParseArgsError(err)) usageError(usage, err.message);
      throw err;
    }
  };
  const parsed = parse();
  const [command, ...rest] = parsed.positionals;
  if ((parsed.values as { help?: boolean }).help === true || command === 'help') {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  if (command === undefined) usageError(usage);
  return { command, args: rest, values: parsed.values };
}

function isParseArgsError(err: unknown): err is Error {
  return err instanceof TypeError && String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_');
}

/**
 * Runs one admin command: `plan` reads and checks its arguments (a usage error exits 2, an argument
 * the use case's schema refuses exits 1 with its fields) and answers what to run; only then is the
 * configuration read and `build` connects what the command needs.
 */
export async function runAdminCommand<Admin>(
  build: (config: Config) => Promise<{ admin: Admin; close(): Promise<void> }>,
  plan: () => (admin: Admin) => Promise<unknown>,
): Promise<void> {
  let command: (admin: Admin) => Promise<unknown>;
  try {
    command = plan();
  } catch (err) {
    return refuse(err);
  }
  const { admin, close } = await build(loadCliConfig());
  try {
    process.stdout.write(`${JSON.stringify(await command(admin), null, 2)}\n`);
  } catch (err) {
    refuse(err);
  } finally {
    await close();
  }
}

/** A refusal (DomainError): its code, message and fields on stderr, exit 1. Anything else is a crash. */
function refuse(err: unknown): void {
  if (!isDomainError(err)) throw err;
  const fields = err.fields.map((f) => `\n  ${f.field}: ${f.message}`).join('');
  process.exitCode = 1;
  process.stderr.write(`${err.code}: ${err.message}${fields}\n`);
}
