import Router from '@koa/router';
import { html, type Html } from '../../http/html.ts';
import { page, pageLanguage, productName, sendPage } from '../../http/pages.ts';
import type { Asset } from '../../http/static-assets.ts';
import type { Language } from '../../kernel/languages.ts';
import { MESSAGES, type PageMessages } from './pages/messages.ts';

/**
 * The sign-up page people reach from the login page's "Create an account" (themes/platform/login/
 * footer.ftl): one HTML page whose script (pages/sign-up.js) walks details -> code sent -> code
 * entered -> account created against the JSON API of this flow, in the look of the login theme.
 * See docs/decisions/0005-sign-up-pages.md.
 */
export interface SignUpPagesDeps {
  /** Keycloak's public base URL: the only place the page sends people back to. */
  keycloakUrl: string;
  realm: string;
}

/** The page's own files (the shell's, the theme's styles and logo, are http/pages.ts `pageAssets`). */
export const signUpAssets: Record<string, Asset> = {
  'sign-up.css': { file: new URL('./pages/sign-up.css', import.meta.url), type: 'text/css; charset=utf-8' },
  'sign-up.js': { file: new URL('./pages/sign-up.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
};

export function signUpPagesRouter(deps: SignUpPagesDeps): Router {
  const router = new Router();
  router.get('/signup', (ctx) => {
    const lang = pageLanguage(ctx);
    const returnUrl = safeReturnUrl(ctx.query.return, deps.keycloakUrl, deps.realm) ?? accountConsoleUrl(deps);
    sendPage(ctx, renderSignUpPage(lang, returnUrl));
  });
  return router;
}

/**
 * Where "Continue to sign in" may lead: only into this realm on the configured Keycloak (the login
 * page passes its restart URL, relative to Keycloak). Anything else is refused (undefined), so the
 * page can never send someone to another site (open redirect).
 */
export function safeReturnUrl(raw: unknown, keycloakUrl: string, realm: string): string | undefined {
  if (typeof raw !== 'string' || raw === '' || raw.length > 2048) return undefined;
  const base = new URL(keycloakUrl);
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return undefined;
  }
  const realmPath = `${base.pathname.replace(/\/$/, '')}/realms/${encodeURIComponent(realm)}/`;
  if (url.origin !== base.origin || !url.pathname.startsWith(realmPath) || url.username || url.password) return undefined;
  return url.href;
}

/** Without a usable `return`: Keycloak's account console, which starts a sign-in of its own. */
const accountConsoleUrl = (deps: SignUpPagesDeps) => `${deps.keycloakUrl.replace(/\/$/, '')}/realms/${encodeURIComponent(deps.realm)}/account/`;

/** One labelled input with its hint and its (initially hidden) error, tied together for screen readers. */
function field(opts: { name: string; label: string; type?: string; autocomplete?: string; hint?: string; required?: boolean; extra?: Html }): Html {
  const { name } = opts;
  const describedBy = [opts.hint ? `${name}-hint` : '', `${name}-error`].filter(Boolean).join(' ');
  return html`
        <div class="field" data-field="${name}">
          <label for="${name}">${opts.label}</label>
          <input id="${name}" name="${name}" type="${opts.type ?? 'text'}" autocomplete="${opts.autocomplete ?? 'off'}" aria-describedby="${describedBy}"${opts.required ? html` required` : html``}${opts.extra ?? html``}>
          ${opts.hint ? html`<p class="hint" id="${name}-hint">${opts.hint}</p>` : html``}
          <p class="error" id="${name}-error" hidden></p>
        </div>`;
}

export function renderSignUpPage(lang: Language, returnUrl: string): string {
  const m: PageMessages = MESSAGES[lang].page;
  // The script's texts, plus each step's heading (the script retitles the page as the steps change).
  const titles = { details: m.title, verify: m.codeTitle, done: m.doneTitle, product: productName(lang) };
  return page({
    lang,
    title: m.title,
    card: { id: 'sign-up' },
    languageHref: (l) => `/signup?${new URLSearchParams({ lang: l, return: returnUrl }).toString()}`,
    noScript: m.noScript,
    styles: ['sign-up.css'],
    scripts: ['sign-up.js'],
    strings: { ...MESSAGES[lang].script, titles },
    body: html`<div id="alert" class="alert" role="alert" aria-live="assertive" hidden></div>
      <p id="notice" class="notice" role="status" aria-live="polite" hidden></p>

      <form id="details" class="step" novalidate hidden>
        <fieldset class="field identifier-kind">
          <legend>${m.signUpWith}</legend>
          <div class="segmented">
            <input type="radio" id="kind-email" name="kind" value="email" checked><label for="kind-email">${m.optionEmail}</label>
            <input type="radio" id="kind-phone" name="kind" value="phone"><label for="kind-phone">${m.optionPhone}</label>
          </div>
        </fieldset>
        ${field({ name: 'email', label: m.email, type: 'email', autocomplete: 'email', required: true })}
        ${field({ name: 'phone', label: m.phone, type: 'tel', autocomplete: 'tel', hint: m.phoneHint, required: true, extra: html` inputmode="tel" placeholder="+91 98765 43210"` })}
        ${field({ name: 'firstName', label: m.name, autocomplete: 'name', hint: m.nameHint, required: true })}
        ${field({ name: 'username', label: m.username, autocomplete: 'username', hint: m.usernameHint, extra: html` autocapitalize="none" spellcheck="false"` })}
        ${field({ name: 'password', label: m.password, type: 'password', autocomplete: 'new-password', hint: m.passwordHint, required: true })}
        <div class="check"><input type="checkbox" id="show-password"><label for="show-password">${m.showPassword}</label></div>
        <button type="submit" class="primary">${m.sendCode}</button>
      </form>

      <form id="verify" class="step" novalidate hidden>
        <p class="lead">${m.codeSentTo}<br><strong id="sent-to"></strong></p>
        ${field({ name: 'code', label: m.code, autocomplete: 'one-time-code', hint: m.codeHint, required: true, extra: html` inputmode="numeric" maxlength="6" pattern="[0-9]{6}" class="code"` })}
        <button type="submit" class="primary">${m.createAccount}</button>
        <div class="secondary-actions">
          <button type="button" id="resend" class="link">${m.resend}</button>
          <button type="button" id="change" class="link">${m.changeDetails}</button>
        </div>
      </form>

      <section id="done" class="step" hidden>
        <p class="lead">${m.yourUsername}: <strong id="new-username"></strong></p>
        <p>${m.doneHint}</p>
        <a id="continue" class="button primary" href="${returnUrl}">${m.continue}</a>
      </section>

      <p class="footer-band" id="have-account">${m.haveAccount} <a href="${returnUrl}">${m.signIn}</a></p>`,
  });
}
