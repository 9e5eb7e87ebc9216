import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Repository root and the git-ignored working folders the stack scripts use. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cacheDir = path.join(repoRoot, '.cache');
/** One subfolder per running stack instance (`dev`, `test-<id>`): logs, Keycloak copy, pid files. */
export const runDir = path.join(repoRoot, '.run');
export const themesDir = path.join(repoRoot, 'themes');
export const realmConfigDir = path.join(repoRoot, 'realm-config');
