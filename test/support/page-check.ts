import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { screenshot } from './browser.ts';

/**
 * What every page a person sees must pass (issue 17): a screenshot saved (test-results/screenshots,
 * looked at by a person), axe-core with zero serious or critical violations, and, on a Hindi page, no
 * English words a person would read. Call it on every page and error state a browser test visits.
 */

/** Desktop and phone, the two widths every journey is walked at. */
export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;
export type Viewport = keyof typeof VIEWPORTS;

/** A browser context at one width and language (Accept-Language too, so Keycloak picks it up). */
export async function openContext(browser: Browser, opts: { viewport?: Viewport; lang?: 'en' | 'hi' } = {}): Promise<BrowserContext> {
  const viewport = VIEWPORTS[opts.viewport ?? 'desktop'];
  const lang = opts.lang ?? 'en';
  return browser.newContext({
    viewport,
    isMobile: opts.viewport === 'phone',
    hasTouch: opts.viewport === 'phone',
    locale: lang === 'hi' ? 'hi-IN' : 'en-GB',
    extraHTTPHeaders: { 'accept-language': lang === 'hi' ? 'hi-IN,hi;q=0.9' : 'en-GB,en;q=0.9' },
  });
}

/**
 * Words allowed on a Hindi page although written in Latin letters: names of products, companies and
 * file formats (the portal's picture section names the image types a person may upload), and what a
 * person typed or was given (usernames, e-mail addresses: pass them in `allow`).
 */
const BRAND_NAMES = ['English', 'Google', 'Keycloak', 'OTP', 'SMS', 'Demo', 'Bank', 'DBP', 'ID', 'PIN', 'URL', 'Email', 'E-mail', 'PNG', 'JPEG', 'WebP', 'GIF'];

export interface PageCheck {
  /** Screenshot name; the viewport and language are appended. */
  name: string;
  lang?: 'en' | 'hi';
  /** Extra Latin-script words the page may show in Hindi (typed values, usernames). */
  allow?: string[];
  /** axe rules to leave out, each with the reason in a comment at the call. */
  disableRules?: string[];
}

/** Screenshot + axe-core + (Hindi) the English-words check. Returns the screenshot's path. */
export async function checkPage(page: Page, check: PageCheck): Promise<string> {
  await page.waitForLoadState('domcontentloaded');
  const width = page.viewportSize()?.width ?? 0;
  const suffix = `${width <= 480 ? 'phone' : 'desktop'}-${check.lang ?? 'en'}`;
  const file = await screenshot(page, `${check.name}-${suffix}`);
  const axe = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
    .disableRules(check.disableRules ?? [])
    .analyze();
  const serious = axe.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(serious, `axe-core on ${check.name} (${suffix}), see ${file}`).toEqual([]);
  if (check.lang === 'hi') {
    const english = await englishWords(page, check.allow ?? []);
    expect(english, `English words on the Hindi page ${check.name} (${suffix}), see ${file}`).toEqual([]);
  }
  return file;
}

/**
 * Latin-script words of three letters or more in the text a person reads (visible text, placeholders,
 * aria-labels, the title), minus brand names and the allowed values. Words with digits, `@`, `_` or
 * `.` inside (usernames, addresses, domains) are values, not words of the page.
 */
export async function englishWords(page: Page, allow: string[]): Promise<string[]> {
  const texts = await page.evaluate(() => {
    const out: string[] = [document.title];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || el.closest('script, style, noscript, [translate="no"]')) continue;
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.visibility === 'hidden' || el.closest('[hidden]')) continue;
      out.push(n.textContent ?? '');
    }
    for (const el of Array.from(document.querySelectorAll('[placeholder], [aria-label], [title]'))) {
      if (el.closest('[translate="no"]')) continue;
      for (const a of ['placeholder', 'aria-label', 'title']) out.push(el.getAttribute(a) ?? '');
    }
    return out;
  });
  const allowed = new Set([...BRAND_NAMES, ...allow].map((w) => w.toLowerCase()));
  const found = new Set<string>();
  for (const text of texts) {
    for (const token of text.split(/\s+/)) {
      if (/[0-9@_.]/.test(token.replace(/[.,:;!?)]+$/, ''))) continue;
      for (const word of token.match(/[A-Za-z]{3,}/g) ?? []) if (!allowed.has(word.toLowerCase())) found.add(word);
    }
  }
  return [...found];
}
