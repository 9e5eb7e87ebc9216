import type { Context } from 'koa';
import { html } from '../../http/html.ts';

/**
 * What a person sees after clicking the link of the registration mail in a browser (API clients
 * asking for JSON get JSON): a page in the look of the login theme, in English or Hindi.
 */
export type ConfirmationOutcome = 'confirmed' | 'invalid' | 'unavailable';

const LANGUAGES = ['en', 'hi'] as const;
type Language = (typeof LANGUAGES)[number];

const TEXT: Record<Language, { product: string; signIn: string } & Record<ConfirmationOutcome, { title: string; body: string }>> = {
  en: {
    product: 'Identity Platform',
    signIn: 'Sign in',
    confirmed: { title: 'Email address confirmed', body: 'Your account is ready. You can sign in now.' },
    invalid: {
      title: 'This link cannot be used',
      body: 'It was used already, it expired (links last 24 hours), or it was changed. Ask for a new one where you registered.',
    },
    unavailable: { title: 'We could not confirm your address just now', body: 'Nothing was lost: open the link again in a few minutes.' },
  },
  hi: {
    product: 'पहचान प्लेटफ़ॉर्म',
    signIn: 'साइन इन करें',
    confirmed: { title: 'ईमेल पते की पुष्टि हो गई', body: 'आपका खाता तैयार है। अब आप साइन इन कर सकते हैं।' },
    invalid: {
      title: 'इस लिंक का उपयोग नहीं किया जा सकता',
      body: 'इसका उपयोग पहले ही हो चुका है, इसकी अवधि समाप्त हो गई है (लिंक 24 घंटे तक मान्य रहते हैं), या इसे बदला गया है। जहाँ आपने पंजीकरण किया था, वहाँ से नया लिंक माँगें।',
    },
    unavailable: { title: 'अभी आपके पते की पुष्टि नहीं हो सकी', body: 'कुछ भी खोया नहीं है: कुछ मिनट बाद लिंक फिर से खोलें।' },
  },
};

/** True when the caller is a browser asking for a page rather than an API client asking for JSON. */
export const wantsPage = (ctx: Context) => ctx.accepts('json', 'html') === 'html';

export function sendConfirmationPage(ctx: Context, outcome: ConfirmationOutcome, signInUrl: string): void {
  const lang = (ctx.acceptsLanguages([...LANGUAGES]) || 'en') as Language;
  const t = TEXT[lang];
  const { title, body } = t[outcome];
  // Security headers (no Referer: the token is in this page's URL) come from http/security-headers.ts.
  ctx.vary('Accept');
  ctx.vary('Accept-Language');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = `<!DOCTYPE html>${html`
<html lang="${lang}" dir="ltr">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>${title} · ${t.product}</title>
  <link rel="icon" href="/assets/logo.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/assets/brand.css">
  <link rel="stylesheet" href="/assets/pages.css">
</head>
<body>
  <div class="page single">
    <header class="brand"><img src="/assets/logo.svg" alt="" width="44" height="44"><span>${t.product}</span></header>
    <main class="card stack" id="confirmation" data-outcome="${outcome}">
      <h1>${title}</h1>
      <p class="lead">${body}</p>
      ${outcome === 'confirmed' ? html`<a class="button primary" href="${signInUrl}">${t.signIn}</a>` : html``}
    </main>
  </div>
</body>
</html>
`.value}`;
}
