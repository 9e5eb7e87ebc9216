import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The admin command lines behave like command lines (issue 16 §3): help on stdout with exit 0, a
 * wrong command or option on stderr with the usage and exit 2, never a stack trace. Usage is checked
 * before the configuration is read: the environment here is a production one without its secrets,
 * which `loadConfig` refuses with exit 78, so an exit 2 proves nothing was read or connected. What the
 * commands do is tested against the real stack (test/e2e/partner-admin.test.ts, member-conversion.test.ts).
 */
const CLIS = {
  partner: fileURLToPath(new URL('./partner.ts', import.meta.url)),
  members: fileURLToPath(new URL('./members.ts', import.meta.url)),
};
const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'production' };

function run(cli: keyof typeof CLIS, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLIS[cli], ...args], { env, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.each(Object.keys(CLIS) as (keyof typeof CLIS)[])('npm run %s', (cli) => {
  const usage = new RegExp(`^usage: npm run ${cli} -- <command>`);

  it.each([['--help'], ['-h'], ['help']])('%s prints the usage on stdout and exits 0', (flag) => {
    const r = run(cli, flag);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(usage);
  });

  it('without a command prints the usage on stderr and exits 2', () => {
    const r = run(cli);
    expect(r).toMatchObject({ status: 2, stdout: '' });
    expect(r.stderr).toMatch(usage);
  });

  it('names an unknown option, prints the usage on stderr and exits 2 (no stack trace)', () => {
    const r = run(cli, 'list', '--no-such-option');
    expect(r).toMatchObject({ status: 2, stdout: '' });
    expect(r.stderr).toMatch(/^Unknown option '--no-such-option'/);
    expect(r.stderr).toMatch(/\nusage: npm run /);
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('names an unknown command, prints the usage on stderr and exits 2', () => {
    const r = run(cli, 'no-such-command');
    expect(r).toMatchObject({ status: 2, stdout: '' });
    expect(r.stderr).toMatch(/^unknown command "no-such-command"\nusage: npm run /);
  });
});

describe('option values', () => {
  it('a value the command cannot take is a usage error naming the option', () => {
    expect(run('members', 'outbox', '--limit', '0')).toMatchObject({ status: 2, stdout: '', stderr: expect.stringMatching(/^--limit must be a whole number/) });
    expect(run('members', 'outbox', '--status', 'lost')).toMatchObject({ status: 2, stderr: expect.stringMatching(/^--status must be/) });
    expect(run('partner', 'register', '--client-id', 'x', '--name', 'X', '--app-key', 'k:oops')).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/^unknown appKey flag "oops"/),
    });
    expect(run('partner', 'show', '--name')).toMatchObject({ status: 2, stderr: expect.stringMatching(/^Option '--name <value>' argument missing/) });
  });

  it('a well-formed command reads the configuration (and refuses a production one without its secrets: 78)', () => {
    const r = run('partner', 'list');
    expect(r.status).toBe(78);
    expect(r.stdout).toBe('');
  });
});
