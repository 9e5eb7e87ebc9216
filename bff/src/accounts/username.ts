import { randomInt } from 'node:crypto';
import anyAscii from 'any-ascii';
import { romanizeDevanagari } from './devanagari.ts';

/**
 * Usernames generated from a person's name (seed 002): ASCII, lower case, spaces as `_`, followed by
 * 4 random digits: "MD MANZARUL HAQUE" -> `md_manzarul_haque0098`, "उमा शर्मा" -> `uma_sharma4821`.
 * Devanagari is written as Hindi names are in English (devanagari.ts), any other script by any-ascii.
 * Uniqueness is the caller's job (it checks and retries with fresh digits).
 */
const MAX_BASE_LENGTH = 60;

/** The name part: transliterated, lower case, `_` between words, only [a-z0-9_.-]; `user` if nothing is left. */
export function usernameBase(name: string): string {
  const base = anyAscii(romanizeDevanagari(name.normalize('NFC')))
    .toLowerCase()
    .trim()
    .replace(/\s+/g, '_')
    .replace(/[^a-z0-9_.-]/g, '')
    .replace(/_{2,}/g, '_')
    .replace(/^[_.-]+|[_.-]+$/g, '')
    .slice(0, MAX_BASE_LENGTH)
    .replace(/[_.-]+$/, '');
  return base === '' ? 'user' : base;
}

/** `random(n)` returns a whole number in [0, n); a CSPRNG by default (no guessable usernames). */
export function generateUsername(name: string, random: (n: number) => number = randomInt): string {
  return `${usernameBase(name)}${String(random(10_000)).padStart(4, '0')}`;
}

/** What a username given by a person may contain (a subset of what Keycloak accepts). */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{2,254}$/;
