import Router from '@koa/router';
import type { PasswordPolicy } from '../../accounts/password-policy.ts';
import type { UserTypeOption } from '../../accounts/user-types.ts';
import { Html, html } from '../../http/html.ts';
import { page, pageLanguage, productName, sendPage } from '../../http/pages.ts';
import type { Asset } from '../../http/static-assets.ts';
import type { Language } from '../../kernel/languages.ts';
import { MESSAGES, type PageMessages, policyRules, scriptMessages } from './pages/messages.ts';
import { type KeycloakRealm, restartTargetOf, safeReturnUrl } from './return-url.ts';

/**
 * The sign-up page people reach from the login page's "Create an account" (themes/platform/login/
 * footer.ftl) or the portal: one HTML page whose script (pages/sign-up.js) walks details (checked
 * whole, before a code is sent) -> code sent -> code entered -> account created against the JSON API
 * of this flow, in the look of the login theme, in the language of the link (`lang`) or the browser.
 * Decision 0005 (the page), decision 0027 (ending signed in).
 */
export interface SignUpPagesDeps extends KeycloakRealm {
  /** The realm's password policy, to list its rules under the password field (cached; may fail). */
  passwordPolicy: () => Promise<PasswordPolicy>;
  /** The realm's user types (accounts/user-types.ts, cached; may fail). */
  userTypes: () => Promise<UserTypeOption[]>;
}

/** The page's own files (the shell's, the theme's styles and logo, are http/pages.ts `pageAssets`). */
export const signUpAssets: Record<string, Asset> = {
  'sign-up.css': { file: new URL('./pages/sign-up.css', import.meta.url), type: 'text/css; charset=utf-8' },
  'sign-up.js': { file: new URL('./pages/sign-up.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
};

/** Where "Continue to sign in" leads without a usable `return`: the portal, which starts a sign-in of its own. */
export const PORTAL_PATH = '/portal/';

export function signUpPagesRouter(deps: SignUpPagesDeps): Router {
  const router = new Router();
  router.get('/signup', async (ctx) => {
    const lang = pageLanguage(ctx);
    const returnUrl = safeReturnUrl(ctx.query.return, deps.keycloakUrl, deps.realm);
    // Only Keycloak's restart URL brings the person back into an authorization request, signed in.
    const restart = restartTargetOf(ctx.query.return, deps) ? returnUrl : undefined;
    // Without the policy (Keycloak not answering) the page still works: the rules are told on refusal.
    const [policy, userTypes] = await Promise.all([deps.passwordPolicy().catch(() => undefined), deps.userTypes().catch(() => [])]);
    sendPage(ctx, renderSignUpPage({ lang, returnUrl, restart, policy, userTypes }));
  });
  return router;
}

/** One labelled input with its hint and its (initially hidden) error, tied together for screen readers. */
function field(opts: { name: string; label: string; type?: string; autocomplete?: string; hint?: Html | string; required?: boolean; extra?: Html }): Html {
  const { name } = opts;
  const describedBy = [opts.hint ? `${name}-hint` : '', `${name}-error`].filter(Boolean).join(' ');
  const hint =
    opts.hint instanceof Html ? html`<div class="hint" id="${name}-hint">${opts.hint}</div>` : html`<p class="hint" id="${name}-hint">${opts.hint ?? ''}</p>`;
  return html`
        <div class="field" data-field="${name}">
          <label for="${name}">${opts.label}</label>
          <input id="${name}" name="${name}" type="${opts.type ?? 'text'}" autocomplete="${opts.autocomplete ?? 'off'}" aria-describedby="${describedBy}"${opts.required ? html` required` : html``}${opts.extra ?? html``}>
          ${opts.hint ? hint : html``}
          <p class="error" id="${name}-error" hidden></p>
        </div>`;
}

export interface SignUpPageSpec {
  lang: Language;
  /** Where "Sign in" and, without `restart`, "Continue to sign in" lead (a Keycloak URL of the realm); the portal without it. */
  returnUrl: string | undefined;
  /** Keycloak's restart URL the sign-up sends with the account (`returnUrl` of `POST /api/v1/signup`) to finish signed in. */
  restart: string | undefined;
  policy: PasswordPolicy | undefined;
  /** Without them (Keycloak not answering) the choice is left out; the check then tells the outage. */
  userTypes: UserTypeOption[];
}

/** The realm's user types as one required choice (radios: few options, all visible on a phone). */
function userTypeChoice(legend: string, lang: Language, options: UserTypeOption[]): Html {
  if (options.length === 0) return html``;
  return html`
        <fieldset class="field choices" id="userType" role="radiogroup" aria-required="true" aria-describedby="userType-error" data-field="userType">
          <legend>${legend}</legend>
          ${options.map(
            (o, i) =>
              html`<div class="check"><input type="radio" id="userType-${String(i)}" name="userType" value="${o.value}"><label for="userType-${String(i)}">${o.label[lang]}</label></div>`,
          )}
          <p class="error" id="userType-error" hidden></p>
        </fieldset>`;
}

export function renderSignUpPage({ lang, returnUrl, restart, policy, userTypes }: SignUpPageSpec): string {
  const m: PageMessages = MESSAGES[lang].page;
  const back = returnUrl ?? PORTAL_PATH;
  // The script's texts, plus each step's heading (the script retitles the page as the steps change).
  const titles = { details: m.title, verify: m.codeTitle, done: m.doneTitle, product: productName(lang) };
  const rules = policyRules(lang, policy);
  const passwordHint = rules.length > 0 ? html`${m.passwordRules}<ul class="rules">${rules.map((r) => html`<li>${r}</li>`)}</ul>` : undefined;
  const [beforeName = '', afterName = ''] = m.doneLead.split('{0}');
  return page({
    lang,
    title: m.title,
    card: { id: 'sign-up' },
    languageHref: (l) => `/signup?${new URLSearchParams({ lang: l, ...(returnUrl ? { return: returnUrl } : {}) }).toString()}`,
    noScript: m.noScript,
    styles: ['sign-up.css'],
    scripts: ['sign-up.js'],
    strings: {
      ...scriptMessages(lang, policy),
      titles,
      ...(restart ? { returnUrl: restart } : {}),
      labels: { continue: m.continue, resend: m.resend },
    },
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
        ${field({ name: 'email', label: m.email, type: 'email', autocomplete: 'email', required: true, extra: html` autocapitalize="none" spellcheck="false"` })}
        ${field({ name: 'phone', label: m.phone, type: 'tel', autocomplete: 'tel', hint: m.phoneHint, required: true, extra: html` inputmode="tel" placeholder="98765 43210"` })}
        <div class="names">
          ${field({ name: 'firstName', label: m.firstName, autocomplete: 'given-name', required: true })}
          ${field({ name: 'lastName', label: m.lastName, autocomplete: 'family-name' })}
        </div>
        ${userTypeChoice(m.userType, lang, userTypes)}
        ${field({ name: 'username', label: m.username, autocomplete: 'username', hint: m.usernameHint, extra: html` autocapitalize="none" spellcheck="false"` })}
        ${field({ name: 'password', label: m.password, type: 'password', autocomplete: 'new-password', ...(passwordHint ? { hint: passwordHint } : {}), required: true })}
        <div class="check"><input type="checkbox" id="show-password"><label for="show-password">${m.showPassword}</label></div>
        <button type="submit" class="primary">${m.sendCode}</button>
      </form>

      <form id="verify" class="step" novalidate hidden>
        <p class="lead">${m.codeSentTo}<br><strong id="sent-to" translate="no"></strong></p>
        ${field({ name: 'code', label: m.code, autocomplete: 'one-time-code', hint: m.codeHint, required: true, extra: html` inputmode="numeric" maxlength="6" pattern="[0-9]{6}" class="code"` })}
        <button type="submit" class="primary">${m.createAccount}</button>
        <div class="secondary-actions">
          <button type="button" id="resend" class="link">${m.resend}</button>
          <button type="button" id="change" class="link">${m.changeDetails}</button>
        </div>
      </form>

      <section id="done" class="step" hidden>
        <p class="lead">${beforeName}<strong id="new-username" translate="no"></strong>${afterName}</p>
        <a id="continue" class="button primary" href="${back}">${m.continueToSignIn}</a>
      </section>

      <p class="footer-band" id="have-account">${m.haveAccount} <a href="${back}">${m.signIn}</a></p>`,
  });
}
