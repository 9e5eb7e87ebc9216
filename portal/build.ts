// `node portal/build.ts`: builds the portal (Vite) into portal/dist when its sources changed since
// the last build. `npm start` (stack/stack.ts) and the e2e setup call ensurePortalBuilt(), so a fresh
// clone needs no extra step; the output is git-ignored.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const portalDir = fileURLToPath(new URL('.', import.meta.url));
export const portalDistDir = path.join(portalDir, 'dist');
const repoRoot = path.dirname(portalDir);
const STAMP = '.sources-sha256';

/** Everything the output depends on: the portal's sources, the theme files it bundles, the lock file (versions). */
function sourceFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  return [
    ...readdirSync(portalDir)
      .filter((f) => /\.(html|ts)$/.test(f))
      .map((f) => path.join(portalDir, f)),
    ...walk(path.join(portalDir, 'src')),
    path.join(repoRoot, 'themes', 'platform', 'login', 'resources', 'css', 'brand.css'),
    path.join(repoRoot, 'themes', 'platform', 'login', 'resources', 'css', 'pages.css'),
    path.join(repoRoot, 'themes', 'platform', 'login', 'resources', 'img', 'logo.svg'),
    path.join(repoRoot, 'package-lock.json'),
  ].sort();
}

/** A hash of the sources' names and contents (not times: a fresh checkout has new times and the same content). */
function sourcesHash(): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles()) hash.update(path.relative(repoRoot, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

export async function ensurePortalBuilt(log: (line: string) => void = console.log): Promise<void> {
  const wanted = sourcesHash();
  const stamp = path.join(portalDistDir, STAMP);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return;
  log('==> building the portal (Vite)');
  // Built beside and swapped in, so a BFF starting meanwhile never reads a half-written folder.
  const out = path.join(portalDir, `dist-${process.pid}`);
  const vite = path.join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [vite, 'build', '--config', path.join(portalDir, 'vite.config.ts'), '--outDir', out], {
      cwd: repoRoot,
      stdio: 'inherit',
    });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) {
    rmSync(out, { recursive: true, force: true });
    throw new Error(`the portal build failed (vite exited with ${code})`);
  }
  writeFileSync(path.join(out, STAMP), wanted);
  rmSync(portalDistDir, { recursive: true, force: true });
  renameSync(out, portalDistDir);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await ensurePortalBuilt();
}
