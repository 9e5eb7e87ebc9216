import type { Context } from 'koa';
import { DEFAULT_LANGUAGE, isLanguage, LANGUAGES, type Language } from '../kernel/languages.ts';
import { html, json, type Html } from './html.ts';
import type { Asset } from './static-assets.ts';

/**
 * The kit of the BFF's own HTML pages (sign-up, the state claim's steps, the e-mail confirmation):
 * the shell in the login theme's look, the language a page is shown in, the language picker. A page
 * brings only its card's content, its texts and its own script. Escaping is `html.ts`; the headers
 * (CSP, no framing, no Referer) are `security-headers.ts`, for every response.
 */

/** Each language's name in itself, as the picker shows it. */
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', hi: 'हिन्दी' };

/** The kit's own words: the product name under the logo and in the title, the picker's label. */
const TEXT: Record<Language, { product: string; languages: string }> = {
  en: { product: 'Identity Platform', languages: 'Language' },
  hi: { product: 'पहचान प्लेटफ़ॉर्म', languages: 'भाषा' },
};

export const productName = (lang: Language): string => TEXT[lang].product;

const theme = new URL('../../../themes/platform/login/resources/', import.meta.url);

/** Files every page loads: the brand tokens, the shared page styles and the logo, the login theme's own files (not copies). */
export const pageAssets: Record<string, Asset> = {
  'brand.css': { file: new URL('css/brand.css', theme), type: 'text/css; charset=utf-8' },
  'pages.css': { file: new URL('css/pages.css', theme), type: 'text/css; charset=utf-8' },
  'logo.svg': { file: new URL('img/logo.svg', theme), type: 'image/svg+xml' },
};

/**
 * The language of a page: `?lang=` when it names one of ours (a picker's link; the login page's link
 * to sign-up carries Keycloak's locale), else the browser's preference (Accept-Language), else English.
 * The choice is kept by the page itself: its picker, links and form actions carry `?lang=`. No cookie:
 * every way into a page is a link we write (or a mail's, where the browser's preference is right).
 */
export function pageLanguage(ctx: Context): Language {
  // The answer depends on Accept-Language whenever ?lang= is absent: caches must key on it.
  ctx.vary('Accept-Language');
  const asked = ctx.query.lang;
  return isLanguage(asked) ? asked : preferredLanguage(ctx);
}

/** The browser's preference (Accept-Language) among ours, else English: also the language of the mails and SMS an API call sends. */
export function preferredLanguage(ctx: Context): Language {
  return (ctx.acceptsLanguages([...LANGUAGES]) || DEFAULT_LANGUAGE) as Language;
}

/** A rendered page as the response (status as set before). */
export function sendPage(ctx: Context, page: string): void {
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = page;
}

/** One link per language to this page in it; the current one marked for screen readers. */
export function languagePicker(lang: Language, hrefOf: (lang: Language) => string): Html {
  const links = LANGUAGES.map((l) =>
    l === lang
      ? html`<a href="${hrefOf(l)}" lang="${l}" aria-current="true">${LANGUAGE_NAMES[l]}</a>`
      : html`<a href="${hrefOf(l)}" lang="${l}" hreflang="${l}">${LANGUAGE_NAMES[l]}</a>`,
  );
  return html`<nav class="languages" id="languages" aria-label="${TEXT[lang].languages}">${links}</nav>`;
}

export interface PageSpec {
  lang: Language;
  /** The card's heading (focusable, for scripts that move focus as steps change); the title adds the product name. */
  title: string;
  /** The card (`<main>`): its id and data-* attributes (scripts and tests find it by them); `stack` spaces its children evenly. */
  card: { id: string; stack?: boolean; data?: Record<string, string> };
  /** Where each language's link leads (this page in that language); no picker without it. */
  languageHref?: ((lang: Language) => string) | undefined;
  /** Shown in place of the page when scripts are off (pages whose forms need their script). */
  noScript?: string;
  /** The page's own files in /assets/, after the kit's: stylesheets, module scripts. */
  styles?: string[];
  scripts?: string[];
  /** The card's content, under its heading. */
  body: Html;
  /** Data for the page's script, as the JSON block `#strings` (not run, so the CSP allows it). */
  strings?: unknown;
}

export function page(spec: PageSpec): string {
  const { lang, title } = spec;
  const product = TEXT[lang].product;
  const data = Object.entries(spec.card.data ?? {}).map(([name, value]) => html` data-${name}="${value}"`);
  const picker = spec.languageHref ? html`\n        ${languagePicker(lang, spec.languageHref)}` : html``;
  return `<!DOCTYPE html>${
    html`
<html lang="${lang}" dir="ltr">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>${title} · ${product}</title>
  <link rel="icon" href="/assets/logo.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/assets/brand.css">
  <link rel="stylesheet" href="/assets/pages.css">${(spec.styles ?? []).map(
    (name) => html`
  <link rel="stylesheet" href="/assets/${name}">`,
  )}${(spec.scripts ?? []).map(
    (name) => html`
  <script type="module" src="/assets/${name}"></script>`,
  )}
</head>
<body>
  <div class="page single">
    <header class="brand"><img src="/assets/logo.svg" alt="" width="44" height="44"><span>${product}</span></header>
    <main class="card${spec.card.stack ? ' stack' : ''}" id="${spec.card.id}"${data}>
      <div class="card-header">
        <h1 id="title" tabindex="-1">${title}</h1>${picker}
      </div>${
        spec.noScript
          ? html`
      <noscript><p class="alert">${spec.noScript}</p></noscript>`
          : html``
      }
      ${spec.body}
    </main>
  </div>${
    spec.strings !== undefined
      ? html`
  <script type="application/json" id="strings">${json(spec.strings)}</script>`
      : html``
  }
</body>
</html>
`.value
  }`;
}
