import type { Context } from 'koa';
import { html } from '../../http/html.ts';
import { page, pageLanguage, sendPage } from '../../http/pages.ts';
import type { Asset } from '../../http/static-assets.ts';
import type { Language } from '../../kernel/languages.ts';

/**
 * What a person sees after clicking the link of the registration mail in a browser (API clients
 * asking for JSON get JSON): a page of the page kit (http/pages.ts), in the browser's language, and
 * always a way forward (issue 17 §8): signing in, asking for a new link (pages/confirmation.js, which
 * calls `POST /api/v1/auth/send`: the same answer whether or not the address has an account), or
 * opening the link again later.
 */
export type ConfirmationOutcome = 'confirmed' | 'invalid' | 'unavailable';

interface Texts {
  signIn: string;
  confirmed: { title: string; body: string };
  invalid: { title: string; body: string; confirmedAlready: string; newLinkTitle: string; newLinkLead: string; email: string; send: string };
  unavailable: { title: string; body: string; tryAgain: string };
  noScript: string;
  /** For the script (pages/confirmation.js). */
  script: { sent: string; wait: string; failed: string; network: string; reasons: Record<string, string> };
}

const TEXT: Record<Language, Texts> = {
  en: {
    signIn: 'Sign in',
    confirmed: { title: 'Email address confirmed', body: 'Your account is ready. You can sign in now.' },
    invalid: {
      title: 'This link cannot be used',
      body: 'It was used already, it expired (links last 24 hours), or it was changed.',
      confirmedAlready: 'Already confirmed your address?',
      newLinkTitle: 'Get a new link',
      newLinkLead: 'Enter the email address you registered with. If its account is still waiting for confirmation, we send it a new link.',
      email: 'Email address',
      send: 'Send a new link',
    },
    unavailable: {
      title: 'We could not confirm your address just now',
      body: 'Nothing was lost: open the link again in a few minutes.',
      tryAgain: 'Try again',
    },
    noScript: 'Asking for a new link needs JavaScript. You can still sign in.',
    script: {
      sent: 'If an account with this address is waiting for confirmation, a new link is on its way. Check your inbox.',
      wait: 'You asked for a link a moment ago. You can ask again in {0} s.',
      failed: 'Something went wrong. Please try again.',
      network: 'The service could not be reached. Check your connection and try again.',
      reasons: {
        required: 'Enter your email address.',
        invalid_format: 'Enter an email address like name@example.com.',
        too_long: 'This email address is too long.',
      },
    },
  },
  hi: {
    signIn: 'साइन इन करें',
    confirmed: { title: 'ईमेल पते की पुष्टि हो गई', body: 'आपका खाता तैयार है। अब आप साइन इन कर सकते हैं।' },
    invalid: {
      title: 'इस लिंक का उपयोग नहीं किया जा सकता',
      body: 'इसका उपयोग पहले ही हो चुका है, इसकी अवधि समाप्त हो गई है (लिंक 24 घंटे तक मान्य रहते हैं), या इसे बदला गया है।',
      confirmedAlready: 'क्या आप अपने पते की पुष्टि पहले ही कर चुके हैं?',
      newLinkTitle: 'नया लिंक पाएँ',
      newLinkLead: 'वह ईमेल पता दर्ज करें जिससे आपने पंजीकरण किया था। यदि उसका खाता अभी भी पुष्टि की प्रतीक्षा में है, तो हम उसे नया लिंक भेजेंगे।',
      email: 'ईमेल पता',
      send: 'नया लिंक भेजें',
    },
    unavailable: {
      title: 'अभी आपके पते की पुष्टि नहीं हो सकी',
      body: 'कुछ भी खोया नहीं है: कुछ मिनट बाद लिंक फिर से खोलें।',
      tryAgain: 'फिर कोशिश करें',
    },
    noScript: 'नया लिंक माँगने के लिए JavaScript चाहिए। आप फिर भी साइन इन कर सकते हैं।',
    script: {
      sent: 'यदि इस पते का कोई खाता पुष्टि की प्रतीक्षा में है, तो नया लिंक भेजा जा रहा है। अपना इनबॉक्स देखें।',
      wait: 'आपने अभी-अभी लिंक माँगा था। आप {0} सेकंड बाद फिर माँग सकते हैं।',
      failed: 'कुछ गलत हो गया। कृपया फिर से कोशिश करें।',
      network: 'सेवा तक नहीं पहुँच सके। अपना कनेक्शन जाँचें और फिर कोशिश करें।',
      reasons: {
        required: 'अपना ईमेल पता दर्ज करें।',
        invalid_format: 'name@example.com जैसा ईमेल पता दर्ज करें।',
        too_long: 'यह ईमेल पता बहुत लंबा है।',
      },
    },
  },
};

/** The page's own files: the "new link" form's script and styles. */
export const confirmationAssets: Record<string, Asset> = {
  'confirmation.css': { file: new URL('./pages/confirmation.css', import.meta.url), type: 'text/css; charset=utf-8' },
  'confirmation.js': { file: new URL('./pages/confirmation.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
};

/** True when the caller is a browser asking for a page rather than an API client asking for JSON. */
export const wantsPage = (ctx: Context) => ctx.accepts('json', 'html') === 'html';

/** `signInUrl`: the portal, which carries the page's language on (`?lang=`). */
export function sendConfirmationPage(ctx: Context, outcome: ConfirmationOutcome, signInUrl: string): void {
  // Security headers (no Referer: the token is in this page's URL) come from http/security-headers.ts.
  ctx.vary('Accept');
  const lang = pageLanguage(ctx);
  const t = TEXT[lang];
  const signIn = `${signInUrl}?lang=${lang}`;
  const signInButton = (kind: 'primary' | 'secondary') => html`<a class="button ${kind}" id="sign-in" href="${signIn}">${t.signIn}</a>`;
  const bodies: Record<ConfirmationOutcome, () => ReturnType<typeof html>> = {
    confirmed: () => html`<p class="lead">${t.confirmed.body}</p>
      ${signInButton('primary')}`,
    invalid: () => html`<p class="lead">${t.invalid.body}</p>
      <p>${t.invalid.confirmedAlready} <a id="sign-in" href="${signIn}">${t.signIn}</a></p>
      <form id="new-link" class="new-link" novalidate aria-labelledby="new-link-title">
        <h2 id="new-link-title">${t.invalid.newLinkTitle}</h2>
        <p>${t.invalid.newLinkLead}</p>
        <p id="notice" class="notice" role="status" aria-live="polite" hidden></p>
        <div class="field" data-field="email">
          <label for="email">${t.invalid.email}</label>
          <input id="email" name="email" type="email" autocomplete="email" aria-describedby="email-error" required>
          <p class="error" id="email-error" hidden></p>
        </div>
        <button type="submit" class="primary" id="send">${t.invalid.send}</button>
      </form>`,
    unavailable: () => html`<p class="lead">${t.unavailable.body}</p>
      <a class="button primary" id="try-again" href="${ctx.originalUrl}">${t.unavailable.tryAgain}</a>
      ${signInButton('secondary')}`,
  };
  sendPage(
    ctx,
    page({
      lang,
      title: t[outcome].title,
      card: { id: 'confirmation', stack: true, data: { outcome } },
      body: bodies[outcome](),
      ...(outcome === 'invalid' ? { styles: ['confirmation.css'], scripts: ['confirmation.js'], strings: t.script, noScript: t.noScript } : {}),
    }),
  );
}
