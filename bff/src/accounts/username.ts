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

/**
 * `random(n)` returns a whole number in [0, n); a CSPRNG by default (no guessable usernames). `digits`
 * is 4 (the seed's form) unless the caller widens it: a common name held by thousands of people has
 * used up most of its 10,000 four-digit usernames (`usernameDigits`).
 */
export function generateUsername(name: string, random: (n: number) => number = randomInt, digits = 4): string {
  return `${usernameBase(name)}${String(random(10 ** digits)).padStart(digits, '0')}`;
}

/**
 * Digits for the n-th try (from 0) at a free username: four for the first five, then six, then eight.
 * With four digits only, a name held by 9,000 people failed one creation in three after ten tries
 * (bench:import, 10,000 "Bench Member" rows: 813 refused); a wider number never runs out.
 */
export function usernameDigits(attempt: number): number {
  return attempt < 5 ? 4 : attempt < 8 ? 6 : 8;
}

/** What a username given by a person may contain (a subset of what Keycloak accepts). */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{2,254}$/;
