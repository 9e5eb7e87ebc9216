/**
 * Devanagari to readable Latin letters, the way Hindi names are usually written in English (issue 17
 * §9): "उमा शर्मा" -> "uma sharma", "मोहन" -> "mohan", "कृष्ण" -> "krishna", "लक्ष्मी" -> "lakshmi".
 * any-ascii (used for every other script) writes consonants without their inherent vowel ("srma",
 * "mohn"), which makes generated usernames unreadable.
 *
 * Not a scholarly transliteration (no diacritics, long and short vowels written alike): letters a
 * person recognises as their name. The inherent "a" of a consonant is written, except where Hindi
 * does not pronounce it (schwa deletion, the common rules):
 * - at the end of a word after a single consonant ("राम" ram), kept after a conjunct ("मित्र" mitra)
 *   and in a one-letter word;
 * - inside a word, in a vowel-consonant_consonant-vowel context, scanning from the right
 *   ("कमला" kamla, "सरला" sarla; but "मोहन" mohan, "सूरज" suraj).
 */
const CONSONANTS: Record<string, string> = {
  क: 'k',
  ख: 'kh',
  ग: 'g',
  घ: 'gh',
  ङ: 'n',
  च: 'ch',
  छ: 'chh',
  ज: 'j',
  झ: 'jh',
  ञ: 'n',
  ट: 't',
  ठ: 'th',
  ड: 'd',
  ढ: 'dh',
  ण: 'n',
  त: 't',
  थ: 'th',
  द: 'd',
  ध: 'dh',
  न: 'n',
  ऩ: 'n',
  प: 'p',
  फ: 'ph',
  ब: 'b',
  भ: 'bh',
  म: 'm',
  य: 'y',
  र: 'r',
  ऱ: 'r',
  ल: 'l',
  ळ: 'l',
  ऴ: 'l',
  व: 'v',
  श: 'sh',
  ष: 'sh',
  स: 's',
  ह: 'h',
  // Nukta forms, precomposed (U+0958-U+095F); the combining nukta is handled below.
  '\u0958': 'q',
  '\u0959': 'kh',
  '\u095A': 'gh',
  '\u095B': 'z',
  '\u095C': 'r',
  '\u095D': 'rh',
  '\u095E': 'f',
  '\u095F': 'y',
};
/** A consonant + nukta written as two code points. */
const NUKTA_FORMS: Record<string, string> = { क: 'q', ख: 'kh', ग: 'gh', ज: 'z', ड: 'r', ढ: 'rh', फ: 'f', य: 'y' };

const VOWELS: Record<string, string> = {
  अ: 'a',
  आ: 'a',
  इ: 'i',
  ई: 'i',
  उ: 'u',
  ऊ: 'u',
  ऋ: 'ri',
  ॠ: 'ri',
  ऌ: 'li',
  ए: 'e',
  ऐ: 'ai',
  ओ: 'o',
  औ: 'au',
  ऍ: 'e',
  ऑ: 'o',
  ऎ: 'e',
  ऒ: 'o',
};
const MATRAS: Record<string, string> = {
  'ा': 'a',
  'ि': 'i',
  'ी': 'i',
  'ु': 'u',
  'ू': 'u',
  'ृ': 'ri',
  'ॄ': 'ri',
  'े': 'e',
  'ै': 'ai',
  'ो': 'o',
  'ौ': 'au',
  'ॅ': 'e',
  'ॉ': 'o',
  'ॆ': 'e',
  'ॊ': 'o',
};
const VIRAMA = '\u094D';
const NUKTA = '\u093C';
const ANUSVARA = 'ं';
const CHANDRABINDU = 'ँ';
const VISARGA = 'ः';
const LABIALS = new Set(['प', 'फ', 'ब', 'भ', 'म']);

/** One written syllable: a consonant (or none, for an independent vowel) and what follows it. */
interface Unit {
  consonant: string;
  /** The consonant's key letter, to look ahead (ज्ञ, the labials). */
  letter: string;
  /** The vowel written (matra or independent vowel); null: the inherent "a"; '' after a virama. */
  vowel: string | null;
  nasal: string;
  /** Joined to the next consonant by a virama (a conjunct). */
  conjunct: boolean;
}

/** True for the Devanagari block (U+0900-U+097F). */
export const isDevanagari = (char: string): boolean => char >= '\u0900' && char <= '\u097F';

/** One word of Devanagari (no spaces) in Latin letters. */
function word(text: string): string {
  const chars = [...text];
  const units: Unit[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const last = units.at(-1);
    if (c in CONSONANTS) {
      const nukta = chars[i + 1] === NUKTA;
      if (nukta) i++;
      units.push({ consonant: nukta ? (NUKTA_FORMS[c] ?? CONSONANTS[c]!) : CONSONANTS[c]!, letter: c, vowel: null, nasal: '', conjunct: false });
    } else if (c in VOWELS) {
      units.push({ consonant: '', letter: c, vowel: VOWELS[c]!, nasal: '', conjunct: false });
    } else if (c in MATRAS && last?.consonant && last.vowel === null) {
      last.vowel = MATRAS[c]!;
    } else if (c === VIRAMA && last?.consonant) {
      last.vowel = '';
      last.conjunct = true;
    } else if ((c === ANUSVARA || c === CHANDRABINDU) && last) {
      last.nasal = LABIALS.has(chars[i + 1] ?? '') ? 'm' : 'n';
    } else if (c === VISARGA && last) {
      last.nasal = 'h';
    } else if (c >= '०' && c <= '९') {
      units.push({ consonant: String(c.charCodeAt(0) - 0x0966), letter: c, vowel: '', nasal: '', conjunct: false });
    }
    // Anything else (nukta alone, avagraha, dandas, zero-width joiners): nothing to write.
  }
  // ज्ञ is "gy" in Hindi ("ज्ञान" gyan).
  for (let i = 0; i + 1 < units.length; i++) {
    if (units[i]!.letter === 'ज' && units[i]!.conjunct && units[i + 1]!.letter === 'ञ') {
      units[i]!.consonant = 'g';
      units[i + 1]!.consonant = 'y';
    }
  }
  const hasInherent = (u: Unit | undefined) => u !== undefined && u.consonant !== '' && u.vowel === null;
  const voiced = (u: Unit | undefined) => u !== undefined && u.vowel !== '';
  const dropped = new Set<number>();
  // Word-final: dropped after a single consonant in a word of more than one letter.
  const end = units.length - 1;
  if (end > 0 && hasInherent(units[end]) && !units[end - 1]!.conjunct && units[end]!.nasal === '') dropped.add(end);
  // Medial, right to left: V C[a] C V -> V C C V.
  for (let i = end - 1; i > 0; i--) {
    const u = units[i]!;
    if (!hasInherent(u) || u.nasal !== '' || units[i - 1]!.conjunct) continue;
    const next = units[i + 1];
    const nextVoiced = next !== undefined && next.consonant !== '' && voiced(next) && !dropped.has(i + 1) && !next.conjunct;
    if (voiced(units[i - 1]) && !dropped.has(i - 1) && nextVoiced) dropped.add(i);
  }
  return units.map((u, i) => `${u.consonant}${u.vowel ?? (dropped.has(i) ? '' : 'a')}${u.nasal}`).join('');
}

/** Every run of Devanagari in `text` written in Latin letters; the rest left as it is. */
export function romanizeDevanagari(text: string): string {
  let out = '';
  let run = '';
  for (const char of text) {
    if (isDevanagari(char) || char === '\u200C' || char === '\u200D') {
      run += char;
      continue;
    }
    if (run) out += word(run);
    run = '';
    out += char;
  }
  return run ? out + word(run) : out;
}
