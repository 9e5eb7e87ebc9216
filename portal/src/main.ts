import Keycloak from 'keycloak-js';
import { api, explain, explainField, Problem } from './api.ts';
import { card, say, type Notes } from './card.ts';
import { busy, clearFieldErrors, field, h, showFieldError } from './dom.ts';
import { format, initialLanguage, MESSAGES, rememberLanguage, type Language, type Messages } from './messages.ts';

/**
 * The demo portal: signs people in with keycloak-js (authorization code + PKCE, public client
 * `portal`) and calls the BFF with the access token. Screens: home (the ways to sign in, create an
 * account), profile (GET/PUT /api/v1/user, email/phone changes proved by OTP), session ended.
 * Where the flows of later issues plug in: see portal/README.md.
 */
interface PortalConfig {
  keycloakUrl: string;
  realm: string;
  clientId: string;
  stateIdp: string;
  googleIdp: string;
  signUpUrl: string;
}

interface Profile {
  id: string;
  username: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  emailVerified: boolean;
  phone: string | null;
  phoneVerified: boolean;
  createdAt: string | null;
  tenant: { alias: string; name: string } | null;
  identityProviders: { provider: string; username: string }[];
}

const LOGO = new URL('../../themes/platform/login/resources/img/logo.svg', import.meta.url).href;
/** Set just before signing out, read once on the way back: the home page then says so. */
const SIGNED_OUT_FLAG = 'platform.portal.signed-out';
const REDIRECT_URI = `${location.origin}/portal/`;

const root = document.getElementById('app')!;
let lang: Language = initialLanguage(new URLSearchParams(location.search).get('lang'));
let m: Messages = MESSAGES[lang];
let config: PortalConfig;
let keycloak: Keycloak;
/** What is on screen, so a language switch can draw it again. */
let redraw: () => void = () => {};
let signingOut = false;

// ---- layout ----

function setLanguage(next: Language) {
  lang = next;
  m = MESSAGES[lang];
  rememberLanguage(lang);
  document.documentElement.lang = lang;
  redraw();
}

/** One screen: brand header, then the card with its title, alert and notice lines, and the content. */
function screen(title: string, opts: Notes, ...content: (Node | false | null)[]) {
  document.title = `${title} · ${m.productName}`;
  const { card: main, heading } = card({ title, m, lang, setLanguage, ...opts }, ...content);
  root.replaceChildren(h('header', { class: 'brand' }, h('img', { src: LOGO, alt: '', width: '44', height: '44' }), h('span', {}, m.productName)), main);
  return heading;
}

// ---- screens ----

function showLoading() {
  redraw = showLoading;
  screen(m.loading, {}, h('p', { class: 'lead' }, m.loading));
}

function showStartFailed() {
  redraw = showStartFailed;
  screen(m.productName, { alert: m.startFailed }, h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, m.tryAgain)).focus();
}

function showHome(opts: Notes = {}) {
  redraw = () => showHome(opts);
  const login = (idpHint?: string) => () => void keycloak.login({ redirectUri: REDIRECT_URI, locale: lang, ...(idpHint ? { idpHint } : {}) });
  screen(
    m.homeTitle,
    opts,
    h('p', { class: 'lead' }, m.homeLead),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'primary', id: 'sign-in', onclick: login() }, m.signIn),
      h('div', { class: 'divider' }, h('span', {}, m.or)),
      h('button', { type: 'button', class: 'secondary', id: 'sign-in-state', onclick: login(config.stateIdp) }, m.signInState),
      h('button', { type: 'button', class: 'secondary', id: 'sign-in-google', onclick: login(config.googleIdp) }, m.signInGoogle),
    ),
    h(
      'p',
      { class: 'footer-band' },
      `${m.noAccount} `,
      h('a', { href: `${config.signUpUrl}?lang=${lang}`, id: 'create-account', onclick: createAccount }, m.createAccount),
    ),
  );
}

/**
 * The BFF's sign-up page, whose "Continue to sign in" leads to an authorization request of this
 * portal (the page accepts only URLs of the realm), so a new account ends signed in here.
 */
async function createAccount(event: Event) {
  event.preventDefault();
  const back = await keycloak.createLoginUrl({ redirectUri: REDIRECT_URI, locale: lang });
  location.assign(`${config.signUpUrl}?${new URLSearchParams({ lang, return: back }).toString()}`);
}

function showSessionEnded() {
  redraw = showSessionEnded;
  screen(
    m.sessionEndedTitle,
    {},
    h('p', { class: 'lead', id: 'session-ended' }, m.sessionEnded),
    h(
      'button',
      { type: 'button', class: 'primary', id: 'sign-in-again', onclick: () => void keycloak.login({ redirectUri: REDIRECT_URI, locale: lang }) },
      m.signInAgain,
    ),
  ).focus();
}

/** The BFF refused the token or Keycloak refused the refresh: whatever was on screen is gone. */
class SessionEnded extends Error {}

/** A fresh access token (keycloak-js refreshes it when it has under 30 s left). */
async function accessToken(): Promise<string> {
  try {
    await keycloak.updateToken(30);
  } catch {
    // keycloak-js clears the tokens when Keycloak refuses the refresh (the session is over) and
    // keeps them when Keycloak could not be reached (then this is a passing outage).
    if (!keycloak.authenticated) throw new SessionEnded();
    throw new Problem(0, {});
  }
  return keycloak.token!;
}

async function callApi<T>(method: string, path: string, body?: unknown): Promise<T> {
  try {
    return (await api<T>(method, path, { token: await accessToken(), body, lang })).body;
  } catch (err) {
    if (err instanceof Problem && err.status === 401) {
      keycloak.clearToken();
      throw new SessionEnded();
    }
    throw err;
  }
}

async function loadProfile(notice?: string) {
  showLoading();
  try {
    showProfile(await callApi<Profile>('GET', '/api/v1/user'), { notice });
  } catch (err) {
    if (err instanceof SessionEnded) return showSessionEnded();
    showProfileError(err);
  }
}

function showProfileError(err: unknown) {
  redraw = () => showProfileError(err);
  screen(
    m.profileTitle,
    { alert: explain(err, m, lang) },
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => void loadProfile() }, m.tryAgain), signOutButton()),
  ).focus();
}

function signOutButton() {
  return h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      id: 'sign-out',
      onclick: () => {
        signingOut = true;
        sessionStorage.setItem(SIGNED_OUT_FLAG, '1');
        // Ends the Keycloak session (RP-initiated logout with the ID token), then comes back here.
        void keycloak.logout({ redirectUri: REDIRECT_URI });
      },
    },
    m.signOut,
  );
}

/**
 * Shows a problem where it belongs: each named field next to its input (`inputs` maps the API's
 * field names to input ids), anything else in the card's alert.
 */
function showProblem(form: HTMLElement, err: unknown, inputs: Record<string, string>) {
  if (err instanceof SessionEnded) return showSessionEnded();
  const placed = err instanceof Problem ? err.fields.filter((f) => inputs[f.field] && showFieldError(form, inputs[f.field]!, explainField(f, m, lang))) : [];
  const unplaced = err instanceof Problem ? err.fields.filter((f) => !placed.includes(f)) : [];
  const lines = placed.length > 0 && unplaced.length === 0 ? [m.checkFields] : [explain(err, m, lang), ...unplaced.map((f) => explainField(f, m, lang))];
  say('alert', lines.join(' '));
  const first = form.querySelector<HTMLInputElement>('[aria-invalid="true"]');
  (first ?? document.getElementById('alert'))?.focus();
}

function startAction(form: HTMLElement) {
  clearFieldErrors(form);
  say('alert', undefined);
  say('notice', undefined);
}

function showProfile(p: Profile, opts: { notice?: string } = {}) {
  redraw = () => showProfile(p);
  const tenant = !p.tenant ? m.tenantNone : p.tenant.alias === 'custodian' ? m.tenantCustodian : format(m.tenantState, p.tenant.name);
  const heading = screen(
    m.profileTitle,
    opts,
    h('p', { class: 'lead' }, format(m.signedInAs, p.username)),
    detailsForm(p),
    h(
      'section',
      { 'aria-labelledby': 'account-heading' },
      h('h2', { id: 'account-heading' }, m.account),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, m.tenant),
        h('dd', { id: 'tenant', 'data-alias': p.tenant?.alias ?? '' }, tenant),
        p.createdAt
          ? [h('dt', {}, m.memberSince), h('dd', {}, new Date(p.createdAt).toLocaleDateString(lang === 'hi' ? 'hi-IN' : 'en-IN', { dateStyle: 'long' }))]
          : null,
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'identifiers-heading' },
      h('h2', { id: 'identifiers-heading' }, m.identifiers),
      identifierBlock(p, 'email'),
      identifierBlock(p, 'phone'),
    ),
    h(
      'section',
      { 'aria-labelledby': 'linked-heading' },
      h('h2', { id: 'linked-heading' }, m.linked),
      p.identityProviders.length === 0
        ? h('p', { class: 'hint', id: 'linked-none' }, m.linkedNone)
        : h(
            'ul',
            { class: 'linked', id: 'linked' },
            p.identityProviders.map((idp) =>
              h('li', { 'data-provider': idp.provider }, h('strong', {}, m.idps[idp.provider] ?? idp.provider), ` · ${idp.username}`),
            ),
          ),
    ),
    h('div', { class: 'footer-band' }, signOutButton()),
  );
  heading.focus();
}

function detailsForm(p: Profile): HTMLFormElement {
  const form: HTMLFormElement = h(
    'form',
    { id: 'details', class: 'stack', novalidate: true, 'aria-labelledby': 'details-heading' },
    h('h2', { id: 'details-heading' }, m.details),
    field({ id: 'firstName', label: m.firstName, value: p.firstName ?? '', autocomplete: 'given-name', required: true }),
    field({ id: 'lastName', label: m.lastName, value: p.lastName ?? '', autocomplete: 'family-name' }),
    h('button', { type: 'submit', class: 'primary' }, m.save),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    startAction(form);
    const value = (id: string) => (form.elements.namedItem(id) as HTMLInputElement).value.trim();
    void busy(form, async () => {
      try {
        const updated = await callApi<Profile>('PUT', '/api/v1/user', { firstName: value('firstName'), lastName: value('lastName') || null });
        showProfile(updated, { notice: m.saved });
      } catch (err) {
        showProblem(form, err, { firstName: 'firstName', lastName: 'lastName' });
      }
    });
  });
  return form;
}

/** One identifier (email or phone): its value and state, and the change that proves the new one by OTP. */
function identifierBlock(p: Profile, kind: 'email' | 'phone'): HTMLElement {
  const value = kind === 'email' ? p.email : p.phone;
  const verified = kind === 'email' ? p.emailVerified : p.phoneVerified;
  const block = h(
    'div',
    { class: 'identifier', id: `${kind}-block` },
    h(
      'div',
      { class: 'identifier-row' },
      h(
        'div',
        {},
        h('span', { class: 'label' }, kind === 'email' ? m.email : m.phone),
        h('span', { class: 'value', id: `${kind}-value` }, value ?? m.none),
        value ? h('span', { class: verified ? 'badge ok' : 'badge', id: `${kind}-state` }, verified ? m.verified : m.notVerified) : null,
      ),
      h(
        'div',
        { class: 'row-actions' },
        h(
          'button',
          { type: 'button', class: 'link', id: `${kind}-change`, 'aria-expanded': 'false', onclick: () => openChange(block, p, kind) },
          value ? m.change : m.add,
        ),
        kind === 'phone' && value ? h('button', { type: 'button', class: 'link', id: 'phone-remove', onclick: () => void removePhone(block) }, m.remove) : null,
      ),
    ),
  );
  return block;
}

async function removePhone(block: HTMLElement) {
  startAction(block);
  await busy(block, async () => {
    try {
      showProfile(await callApi<Profile>('PUT', '/api/v1/user', { phone: null }), { notice: m.phoneRemoved });
    } catch (err) {
      showProblem(block, err, {});
    }
  });
}

/** New value -> code sent (POST /api/v1/otp) -> code checked (/verify) -> PUT with the proof. */
function openChange(block: HTMLElement, p: Profile, kind: 'email' | 'phone') {
  block.querySelector(`#${kind}-change`)?.setAttribute('aria-expanded', 'true');
  block.querySelector('form')?.remove();
  const inputId = `new-${kind}`;
  const codeId = `${kind}-code`;
  const form: HTMLFormElement = h(
    'form',
    { class: 'stack change', id: `${kind}-form`, novalidate: true },
    field(
      kind === 'email'
        ? { id: inputId, label: m.newEmail, type: 'email', autocomplete: 'email', required: true }
        : { id: inputId, label: m.newPhone, type: 'tel', autocomplete: 'tel', hint: m.phoneHint, inputmode: 'tel', required: true },
    ),
    h('button', { type: 'submit', class: 'primary', id: `${kind}-send` }, m.sendCode),
    h('button', { type: 'button', class: 'link', onclick: () => showProfile(p) }, m.cancel),
  );
  let sentTo: string | undefined;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    startAction(form);
    const input = form.elements.namedItem(inputId) as HTMLInputElement;
    const identifier = { [kind]: input.value.trim() };
    void busy(form, async () => {
      if (!sentTo) {
        try {
          await api('POST', '/api/v1/otp', { body: { ...identifier, purpose: 'change-identifier', language: lang }, lang });
        } catch (err) {
          return showProblem(form, err, { [kind]: inputId });
        }
        sentTo = input.value.trim();
        input.readOnly = true;
        form.querySelector(`#${kind}-send`)!.textContent = m.verifySave;
        const codeField = field({ id: codeId, label: m.code, autocomplete: 'one-time-code', inputmode: 'numeric', required: true });
        codeField.querySelector('input')!.classList.add('code');
        form.querySelector(`[data-field="${inputId}"]`)!.after(h('p', { class: 'lead', id: `${kind}-sent` }, format(m.codeSentTo, sentTo)), codeField);
        (codeField.querySelector('input') as HTMLInputElement).focus();
        return;
      }
      const code = (form.elements.namedItem(codeId) as HTMLInputElement).value.trim();
      try {
        const { body } = await api<{ proof: string }>('POST', '/api/v1/otp/verify', { body: { ...identifier, purpose: 'change-identifier', code }, lang });
        const updated = await callApi<Profile>('PUT', '/api/v1/user', { ...identifier, [`${kind}Proof`]: body.proof });
        showProfile(updated, { notice: kind === 'email' ? m.emailChanged : m.phoneChanged });
      } catch (err) {
        showProblem(form, err, { [kind]: inputId, code: codeId, [`${kind}Proof`]: codeId });
      }
    });
  });
  block.append(form);
  (form.elements.namedItem(inputId) as HTMLInputElement).focus();
}

// ---- start ----

/** Keycloak's answer when a sign-in did not complete (error of the redirect back). */
function authErrorMessage(err: unknown): string {
  const error = (err as { error?: string } | undefined)?.error;
  if (error === 'access_denied') return m.authCancelled;
  if (error === 'temporarily_unavailable' || error === 'server_error') return m.authUnavailable;
  return m.authFailed;
}

async function start() {
  document.documentElement.lang = lang;
  showLoading();
  try {
    config = (await api<PortalConfig>('GET', '/portal/config.json')).body;
  } catch {
    return showStartFailed();
  }
  keycloak = new Keycloak({ url: config.keycloakUrl, realm: config.realm, clientId: config.clientId });
  // Refreshed before it lapses, so an open page keeps working; a refused refresh ends the session.
  keycloak.onTokenExpired = () => void keycloak.updateToken(30).catch(() => {});
  keycloak.onAuthLogout = () => {
    if (!signingOut) showSessionEnded();
  };
  keycloak.onAuthRefreshError = () => {
    if (keycloak.authenticated) say('alert', m.authUnavailable);
  };
  let authenticated: boolean;
  try {
    authenticated = await keycloak.init({
      onLoad: 'check-sso',
      // A hidden iframe asks Keycloak whether a session exists, so a reload keeps the person signed in.
      silentCheckSsoRedirectUri: `${location.origin}/portal/silent-check-sso.html`,
      checkLoginIframe: false,
      pkceMethod: 'S256',
      redirectUri: REDIRECT_URI,
    });
  } catch (err) {
    if (err && typeof err === 'object' && 'error' in err) return showHome({ alert: authErrorMessage(err) });
    return showStartFailed();
  }
  if (authenticated) return loadProfile();
  const signedOut = sessionStorage.getItem(SIGNED_OUT_FLAG) === '1';
  sessionStorage.removeItem(SIGNED_OUT_FLAG);
  showHome(signedOut ? { notice: m.signedOut } : {});
}

void start();
