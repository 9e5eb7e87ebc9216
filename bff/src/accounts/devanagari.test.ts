import { describe, expect, it } from 'vitest';
import { romanizeDevanagari } from './devanagari.ts';

describe('romanizeDevanagari', () => {
  it.each([
    ['उमा शर्मा', 'uma sharma'],
    ['राम', 'ram'],
    ['मोहन', 'mohan'],
    ['सूरज', 'suraj'],
    ['अजय', 'ajay'],
    ['कमल', 'kamal'],
    ['कमला', 'kamla'],
    ['सरला', 'sarla'],
    ['रमेश', 'ramesh'],
    ['राजकुमार', 'rajkumar'],
    ['मित्र', 'mitra'],
    ['आदित्य', 'aditya'],
    ['कृष्ण', 'krishna'],
    ['ऋषि', 'rishi'],
    ['न', 'na'],
    ['गंगा', 'ganga'],
    ['अंबर', 'ambar'],
    ['हिंदी', 'hindi'],
    ['बच्चन', 'bachchan'],
    ['क़ादिर', 'qadir'],
    ['दुःख', 'duhkh'],
    ['२०२६', '2026'],
  ])('%s -> %s', (devanagari, latin) => {
    expect(romanizeDevanagari(devanagari)).toBe(latin);
  });

  it('leaves other scripts and punctuation as they are', () => {
    expect(romanizeDevanagari('Asha Verma-Singh')).toBe('Asha Verma-Singh');
    expect(romanizeDevanagari('Uma (उमा)')).toBe('Uma (uma)');
  });
});
