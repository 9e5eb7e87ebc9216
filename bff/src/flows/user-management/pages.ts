import type { Context } from 'koa';
import { html } from '../../http/html.ts';
import { page, pageLanguage, sendPage } from '../../http/pages.ts';
import type { Language } from '../../kernel/languages.ts';

/**
 * What a person sees after clicking the link of the registration mail in a browser (API clients
 * asking for JSON get JSON): a page of the page kit (http/pages.ts), in the browser's language.
 */
export type ConfirmationOutcome = 'confirmed' | 'invalid' | 'unavailable';

const TEXT: Record<Language, { signIn: string } & Record<ConfirmationOutcome, { title: string; body: string }>> = {
  en: {
    signIn: 'Sign in',
    confirmed: { title: 'Email address confirmed', body: 'Your account is ready. You can sign in now.' },
    invalid: {
      title: 'This link cannot be used',
      body: 'It was used already, it expired (links last 24 hours), or it was changed. Ask for a new one where you registered.',
    },
    unavailable: { title: 'We could not confirm your address just now', body: 'Nothing was lost: open the link again in a few minutes.' },
  },
  hi: {
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
  // Security headers (no Referer: the token is in this page's URL) come from http/security-headers.ts.
  ctx.vary('Accept');
  const lang = pageLanguage(ctx);
  const t = TEXT[lang];
  const { title, body } = t[outcome];
  sendPage(
    ctx,
    page({
      lang,
      title,
      card: { id: 'confirmation', stack: true, data: { outcome } },
      body: html`<p class="lead">${body}</p>
      ${outcome === 'confirmed' ? html`<a class="button primary" href="${signInUrl}">${t.signIn}</a>` : html``}`,
    }),
  );
}
