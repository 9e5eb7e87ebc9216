import { ConfigError, loadConfig, type Config } from './config.ts';
import { isDomainError } from './kernel/errors.ts';

/**
 * The shell the admin command lines share (`npm run partner`, `npm run members`): the BFF's own
 * configuration, the command's answer as JSON on stdout, exit 1 on a refusal (its code and fields on
 * stderr), 2 on bad usage, 78 on bad configuration.
 */
export function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

export async function runAdminCommand<Admin>(
  build: (config: Config) => Promise<{ admin: Admin; close(): Promise<void> }>,
  command: (admin: Admin) => Promise<unknown>,
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 78);
    throw err;
  }
  const { admin, close } = await build(config);
  try {
    process.stdout.write(`${JSON.stringify(await command(admin), null, 2)}\n`);
  } catch (err) {
    if (!isDomainError(err)) throw err;
    const fields = err.fields.map((f) => `\n  ${f.field}: ${f.message}`).join('');
    process.exitCode = 1;
    process.stderr.write(`${err.code}: ${err.message}${fields}\n`);
  } finally {
    await close();
  }
}
