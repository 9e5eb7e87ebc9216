import Keycloak from 'keycloak-js';
import { api, explain, Problem, SessionEnded } from './api.ts';
import { card, say, type Notes } from './card.ts';
import { h } from './dom.ts';
import { format, initialLanguage, MESSAGES, rememberLanguage, type Language, type Messages } from './messages.ts';
import { startMerge } from './merge.ts';
import { setUserTypes, showProfile, type Profile, type Shell, type UserType } from './profile.ts';

/**
 * The demo portal: signs people in with keycloak-js (authorization code + PKCE, public client
 * `portal`) and calls the BFF with the access token. Screens: home (the ways to sign in, create an
 * account), profile (profile.ts), session ended. The language chosen here goes to Keycloak
 * (`ui_locales`), to the BFF pages it links to (`?lang=`) and, signed in, to the account itself
 * (its `locale`); after a sign-in the account's own language wins unless the person just chose one
 * here. An invitation's "I already have an account" lands here with `#invitation=<token>`: signed
 * in on Keycloak's page, the portal accepts it (decision 0034). Where the flows of later issues plug
 * in: see portal/README.md.
 */
interface PortalConfig {
  keycloakUrl: string;
  realm: string;
  clientId: string;
  stateIdp: string;
  googleIdp: string;
  signUpUrl: string;
}

const LOGO = new URL('../../themes/platform/login/resources/img/logo.svg', import.meta.url).href;
/** Set just before signing out, read once on the way back: the home page then says so. */
const SIGNED_OUT_FLAG = 'platform.portal.signed-out';
/** Set when the language is picked while signed out, read once after the sign-in: that choice is the account's now. */
const LANGUAGE_CHOSEN_FLAG = 'platform.portal.language-chosen';
/** The invitation being accepted (its link's token), kept across the round trips to Keycloak (sign-in, sign-out). */
const INVITATION_KEY = 'platform.portal.invitation';
/** Set when the portal sent the person to sign in for an invitation: coming back signed out, it does not send them again. */
const INVITATION_SIGN_IN_FLAG = 'platform.portal.invitation-sign-in';
const REDIRECT_URI = `${location.origin}/portal/`;

const root = document.getElementById('app')!;
let lang: Language = initialLanguage(new URLSearchParams(location.search).get('lang'));
let m: Messages = MESSAGES[lang];
let config: PortalConfig;
let keycloak: Keycloak;
/** What is on screen, so a language switch can draw it again. */
let redraw: () => void = () => {};
let signingOut = false;
/** What Keycloak's application-initiated action (change password, ...) came back with, for the next profile screen. */
let actionNotes: Notes = {};

// ---- layout ----

function setLanguage(next: Language) {
  useLanguage(next);
  redraw();
  // Signed in: the account keeps it (Keycloak's pages, our mails and SMS). Signed out: after the next sign-in.
  if (keycloak?.authenticated) void saveLanguage();
  else sessionStorage.setItem(LANGUAGE_CHOSEN_FLAG, '1');
}

function useLanguage(next: Language) {
  lang = next;
  m = MESSAGES[lang];
  rememberLanguage(lang);
  document.documentElement.lang = lang;
}

/** Best effort: the language on screen changed either way; the account catches up on the next choice or sign-in. */
async function saveLanguage(): Promise<void> {
  try {
    await callApi('PUT', '/api/v1/user', { language: lang });
  } catch {
    // Nothing to tell: the portal shows the chosen language regardless.
  }
}

/**
 * After a sign-in: the account's language (Keycloak's `locale`, e.g. picked on its login page) is
 * taken, unless the person picked one here before signing in; then, and for an account that has none,
 * the portal's is saved to the account.
 */
function syncLanguage(p: Profile) {
  const chosenHere = sessionStorage.getItem(LANGUAGE_CHOSEN_FLAG) === '1';
  sessionStorage.removeItem(LANGUAGE_CHOSEN_FLAG);
  if (p.language && !chosenHere) useLanguage(p.language);
  else if (p.language !== lang) void saveLanguage();
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
 * An authorization request of this portal that asks for the sign-up page (`platform_screen=signup`):
 * Keycloak sends the browser there with the way back into this same request, and the finished sign-up
 * comes back signed in (decision 0027). `locale` is `ui_locales`: the pages keep the portal's language.
 */
async function createAccount(event: Event) {
  event.preventDefault();
  const url = await keycloak.createLoginUrl({ redirectUri: REDIRECT_URI, locale: lang });
  location.assign(`${url}&platform_screen=signup`);
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

/** What the profile screen needs of this page. */
const shell: Shell = {
  m: () => m,
  lang: () => lang,
  screen,
  setRedraw: (next) => {
    redraw = next;
  },
  callApi,
  keycloakAction: (action) => void keycloak.login({ action, redirectUri: REDIRECT_URI, locale: lang }),
  startMerge: () => void startMerge(shell, (notes) => void loadProfile(notes ? { notes } : {})),
  showSessionEnded: () => showSessionEnded(),
  signOutButton: () => signOutButton(),
};

/**
 * `first`: the first load after the page started, when the account's language is taken or saved.
 * `notes`: what the profile opens with, in the language on screen (drawn again on a language switch).
 */
async function loadProfile(opts: { first?: boolean; notes?: () => Notes } = {}) {
  showLoading();
  try {
    // The user types are the realm's (decision 0036); without them the profile shows, the choice left out.
    const [p, types] = await Promise.all([
      callApi<Profile>('GET', '/api/v1/user'),
      api<{ items: UserType[] }>('GET', '/api/v1/user-types').then(
        (r) => r.body.items,
        () => [],
      ),
    ]);
    setUserTypes(types);
    if (opts.first) syncLanguage(p);
    const notes = opts.notes;
    if (notes) {
      const draw = () => {
        showProfile(shell, p, notes());
        redraw = draw;
      };
      draw();
    } else showProfile(shell, p, actionNotes);
    actionNotes = {};
  } catch (err) {
    if (err instanceof SessionEnded) return showSessionEnded();
    showProfileError(err);
  }
}

function showProfileError(err: unknown) {
  redraw = () => showProfileError(err);
  screen(
    m.profileTitle,
    { alert: explain(err, m) },
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
        // Signing out drops an invitation not accepted (the wrong-account screen's other button keeps it).
        sessionStorage.removeItem(INVITATION_KEY);
        // Ends the Keycloak session (RP-initiated logout with the ID token), then comes back here.
        void keycloak.logout({ redirectUri: REDIRECT_URI });
      },
    },
    m.signOut,
  );
}

// ---- an invitation (decision 0034) ----

/** `#invitation=<token>` of the invitation page's link: kept for after the sign-in, and taken off the address. */
function takeInvitationFromAddress() {
  const token = new URLSearchParams(location.hash.slice(1)).get('invitation');
  if (token === null) return;
  if (/^[A-Za-z0-9_-]{43}$/.test(token)) sessionStorage.setItem(INVITATION_KEY, token);
  // Out of the address bar, the history and any bookmark; the fragment never reached a server.
  history.replaceState(null, '', location.pathname + location.search);
}

/** The signed-in account accepts the pending invitation; the profile then says what came of it. */
async function acceptInvitation(token: string) {
  showLoading();
  try {
    const joined = await callApi<{ tenant: string; tenantNames?: Partial<Record<Language, string>> }>('POST', '/api/v1/invitations/accept', { token });
    sessionStorage.removeItem(INVITATION_KEY);
    await loadProfile({ first: true, notes: () => ({ notice: format(m.invitationJoined, joined.tenantNames?.[lang] ?? joined.tenant) }) });
  } catch (err) {
    // The invitation stays pending: signed in again, it is accepted then.
    if (err instanceof SessionEnded) return showSessionEnded();
    if (err instanceof Problem && err.status === 403 && err.body.reason === 'wrong_account') {
      return showWrongAccount(typeof err.body.invited === 'string' ? err.body.invited : '');
    }
    if (err instanceof Problem && (err.status === 404 || err.status === 410)) {
      sessionStorage.removeItem(INVITATION_KEY);
      return loadProfile({ first: true, notes: () => ({ alert: m.invitationDead }) });
    }
    showInvitationError(token, err);
  }
}

/** Signed in with an account that does not hold the invited identifier (verified): another account, or the profile. */
function showWrongAccount(invited: string) {
  redraw = () => showWrongAccount(invited);
  screen(
    m.invitationWrongTitle,
    {},
    h('p', { class: 'lead', id: 'invitation-wrong', 'data-invited': invited }, format(m.invitationWrongLead, invited)),
    h('p', { class: 'hint' }, format(m.invitationWrongHint, invited)),
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          class: 'primary',
          id: 'invitation-other-account',
          onclick: () => {
            // Keycloak's session ends; back here, the pending invitation sends the person to sign in again.
            signingOut = true;
            void keycloak.logout({ redirectUri: REDIRECT_URI });
          },
        },
        m.invitationOtherAccount,
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          id: 'invitation-to-profile',
          onclick: () => {
            sessionStorage.removeItem(INVITATION_KEY);
            void loadProfile({ first: true });
          },
        },
        m.invitationToProfile,
      ),
    ),
  ).focus();
}

/** The accept did not answer (too many tries, a service down): the usual error, and try again. */
function showInvitationError(token: string, err: unknown) {
  redraw = () => showInvitationError(token, err);
  screen(
    m.profileTitle,
    { alert: explain(err, m) },
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'primary', id: 'invitation-retry', onclick: () => void acceptInvitation(token) }, m.tryAgain),
      signOutButton(),
    ),
  ).focus();
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
  takeInvitationFromAddress();
  showLoading();
  try {
    config = (await api<PortalConfig>('GET', '/portal/config.json')).body;
  } catch {
    return showStartFailed();
  }
  keycloak = new Keycloak({ url: config.keycloakUrl, realm: config.realm, clientId: config.clientId });
  // Back from one of Keycloak's application-initiated actions (profile.ts): say how it went.
  keycloak.onActionUpdate = (status, action) => {
    if (status === 'success') actionNotes = { notice: action === 'CONFIGURE_TOTP' ? m.twoStepDone : m.passwordChanged };
    else if (status === 'error') actionNotes = { alert: m.actionFailed };
  };
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
      locale: lang,
    });
  } catch (err) {
    if (err && typeof err === 'object' && 'error' in err) return showHome({ alert: authErrorMessage(err) });
    return showStartFailed();
  }
  const invitation = sessionStorage.getItem(INVITATION_KEY);
  const askedToSignIn = sessionStorage.getItem(INVITATION_SIGN_IN_FLAG) === '1';
  sessionStorage.removeItem(INVITATION_SIGN_IN_FLAG);
  if (authenticated) return invitation ? acceptInvitation(invitation) : loadProfile({ first: true });
  if (invitation && !askedToSignIn) {
    // Keycloak's own page, any way the account signs in (password, Google, the state, a second factor).
    sessionStorage.setItem(INVITATION_SIGN_IN_FLAG, '1');
    return void keycloak.login({ redirectUri: REDIRECT_URI, locale: lang });
  }
  const signedOut = sessionStorage.getItem(SIGNED_OUT_FLAG) === '1';
  sessionStorage.removeItem(SIGNED_OUT_FLAG);
  showHome(signedOut ? { notice: m.signedOut } : {});
}

void start();
