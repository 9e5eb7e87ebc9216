import { api, explain, explainField, Problem } from '../api.ts';
import { card, say as sayIn, type Notes } from '../card.ts';
import { busy, clearFieldErrors, field, h, showFieldError } from '../dom.ts';
import { format, initialLanguage, MESSAGES, rememberLanguage, type Language, type Messages } from '../messages.ts';

/**
 * The partner "super component" (seed 003): a page of the platform that a digital banking platform
 * (DBP) embeds in an iframe, handing it the authToken its server got from POST /api/auth/v1 in the
 * URL fragment (`#authToken=…&lang=hi`; a fragment never reaches a server or a Referer). The query
 * names the partner (`?partner=<clientId>`): the BFF lets only that partner's registered origins
 * frame the page (CSP frame-ancestors). It asks
 * GET /api/auth/v1/{authToken} what the token leads to and renders it:
 *   200 -> credit overview of the user behind the userToken
 *   202 -> prefilled enrollment form -> POST …/kba -> questions -> POST …/kba/answers -> overview
 *   203 -> consent page -> PATCH -> overview
 *   404 -> the link is unknown, expired or used
 * It tells the embedding page its height and state by postMessage (never a token): see
 * docs/decisions/0010-portal-and-partner-demo.md.
 */
interface Pii {
  firstName: string;
  lastName: string;
  dob: string;
  email?: string;
  phone?: string;
  ssn?: string;
  address?: Record<string, string>;
}
interface UserToken {
  userToken: string;
  expiresAt: string;
}
interface Question {
  id: string;
  text: string;
}

const LOGO = new URL('../../../themes/platform/login/resources/img/logo.svg', import.meta.url).href;
const root = document.getElementById('app')!;
const fragment = new URLSearchParams(location.hash.slice(1));
const authToken = fragment.get('authToken') ?? '';
// The token is read once; it leaves the address bar (and the iframe's history) at once. The query
// (the partner) stays, so a reload is still allowed in the partner's frame.
history.replaceState(null, '', location.pathname + location.search);
// The partner's page names the language (`lang`, in the fragment or the query); else the remembered
// choice or the browser's.
let lang: Language = initialLanguage(fragment.get('lang') ?? new URLSearchParams(location.search).get('lang'));
let m: Messages = MESSAGES[lang];
let redraw: () => void = () => {};

const path = (suffix = '') => `/api/auth/v1/${encodeURIComponent(authToken)}${suffix}`;

/** Height and state for the embedding page; `*` is fine: neither is a secret. */
function tell(message: Record<string, unknown>) {
  parent.postMessage({ source: 'platform-super-component', ...message }, '*');
}
// The content's own height (not the document's, which is at least the iframe's): the frame can shrink too.
new ResizeObserver(() => tell({ type: 'resize', height: Math.ceil(root.getBoundingClientRect().height) })).observe(root);

function setLanguage(next: Language) {
  lang = next;
  m = MESSAGES[lang];
  rememberLanguage(lang);
  document.documentElement.lang = lang;
  redraw();
}

function screen(state: string, title: string, opts: Notes, ...content: (Node | false | null)[]) {
  document.title = `${title} · ${m.productName}`;
  document.body.dataset.state = state;
  tell({ type: 'state', state });
  const secured = h('p', { class: 'secured' }, h('img', { src: LOGO, alt: '', width: '20', height: '20' }), format(m.sc.poweredBy, m.productName));
  const { card: main, heading } = card({ title, m, lang, setLanguage, ...opts }, ...content, secured);
  root.replaceChildren(main);
  return heading;
}

/** The error line, focused so a screen reader reads it at once. */
function say(text: string | undefined) {
  const el = sayIn('alert', text);
  if (text) el?.focus();
}

// ---- screens ----

function showChecking() {
  redraw = showChecking;
  screen('checking', m.sc.title, {}, h('p', { class: 'lead' }, m.sc.checking));
}

function showNotFound() {
  redraw = showNotFound;
  screen('expired', m.sc.notFoundTitle, {}, h('p', { class: 'lead', id: 'expired' }, m.sc.notFound)).focus();
}

function showFailure(err: unknown, retry: () => void) {
  redraw = () => showFailure(err, retry);
  const text = err instanceof Problem && err.status === 409 ? m.sc.busy : explain(err, m);
  screen('error', m.sc.title, { alert: text }, h('button', { type: 'button', class: 'primary', onclick: retry }, m.tryAgain)).focus();
}

interface PartnerUser {
  userId: string;
  username: string;
  firstName?: string;
  lastName?: string;
}

/** The overview's facts come from the platform API for partners, the one API a userToken opens. */
async function showOverview(token: UserToken) {
  let user: PartnerUser;
  try {
    user = (await api<PartnerUser>('GET', '/api/partner/v1/user', { token: token.userToken, lang })).body;
  } catch (err) {
    return showFailure(err, () => void showOverview(token));
  }
  renderOverview(token, user);
}

function renderOverview(token: UserToken, user: PartnerUser) {
  redraw = () => renderOverview(token, user);
  const name = user.firstName ?? user.username;
  // 24-hour: the Hindi locale's 12-hour clock writes "am"/"pm" in Latin letters.
  const time = new Date(token.expiresAt).toLocaleTimeString(lang === 'hi' ? 'hi-IN' : 'en-IN', { timeStyle: 'short', hourCycle: 'h23' });
  screen(
    'overview',
    m.sc.title,
    {},
    h('p', { class: 'lead', id: 'overview' }, format(m.sc.overviewLead, name)),
    h(
      'div',
      { class: 'score', role: 'group', 'aria-label': m.sc.score },
      h('span', { class: 'score-label' }, m.sc.score),
      h('span', { class: 'score-value' }, '742'),
      h('span', { class: 'badge ok' }, m.sc.scoreBand),
    ),
    h('p', { class: 'hint' }, m.sc.demoData),
    h(
      'section',
      { 'aria-labelledby': 'account-heading' },
      h('h2', { id: 'account-heading' }, m.sc.account),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, m.sc.username),
        h('dd', { id: 'username' }, user.username),
        h('dt', {}, m.sc.userId),
        h('dd', { id: 'user-id' }, user.userId),
        h('dt', {}, m.sc.tokenValidUntil),
        h('dd', {}, time),
      ),
    ),
  ).focus();
}

/** 202: the partner's PII, prefilled and correctable, then the KBA questions. */
function showEnrollment(pii: Pii, opts: { alert?: string } = {}) {
  redraw = () => showEnrollment(pii, opts);
  const form: HTMLFormElement = h(
    'form',
    { class: 'stack', id: 'enrollment', novalidate: true },
    h('p', { class: 'lead' }, m.sc.enrollLead),
    field({ id: 'firstName', label: m.firstName, value: pii.firstName, autocomplete: 'given-name', required: true }),
    field({ id: 'lastName', label: m.sc.lastName, value: pii.lastName, autocomplete: 'family-name', required: true }),
    field({ id: 'dob', label: m.sc.dob, value: pii.dob, type: 'date', autocomplete: 'bday', required: true }),
    field({ id: 'ssn', label: m.sc.ssn, value: pii.ssn ?? '', autocomplete: 'off', inputmode: 'numeric' }),
    h('button', { type: 'submit', class: 'primary' }, m.sc.continue),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    say(undefined);
    const value = (id: string) => (form.elements.namedItem(id) as HTMLInputElement).value.trim();
    const confirmed: Pii = { ...pii, firstName: value('firstName'), lastName: value('lastName'), dob: value('dob') };
    if (value('ssn')) confirmed.ssn = value('ssn');
    else delete confirmed.ssn;
    void busy(form, async () => {
      try {
        const { body } = await api<{ questions: Question[]; attemptsLeft: number }>('POST', path('/kba'), { body: { pii: confirmed }, lang });
        showQuestions(confirmed, body.questions, body.attemptsLeft);
      } catch (err) {
        if (err instanceof Problem && err.status === 404) return showNotFound();
        const fields = err instanceof Problem ? err.fields : [];
        const placed = fields.map((f) => ({ ...f, field: f.field.replace(/^pii\./, '') })).filter((f) => showFieldError(form, f.field, explainField(f, m)));
        if (err instanceof Problem && err.code === 'IDENTITY_NOT_VERIFIABLE') return say(m.sc.notVerifiable);
        say(placed.length > 0 && placed.length === fields.length ? m.checkFields : explain(err, m));
      }
    });
  });
  screen('enrollment', m.sc.enrollTitle, opts, form).focus();
}

/**
 * The core asks in English; a question we know (same id and the same English text, so a changed
 * year or wording is never mistranslated) is shown in the page's language, any other as the core wrote it.
 */
function questionText(q: Question): string {
  return MESSAGES.en.sc.questions[q.id] === q.text ? (m.sc.questions[q.id] ?? q.text) : q.text;
}

function showQuestions(pii: Pii, questions: Question[], attemptsLeft: number, alert?: string) {
  redraw = () => showQuestions(pii, questions, attemptsLeft, alert);
  const form: HTMLFormElement = h(
    'form',
    { class: 'stack', id: 'kba', novalidate: true },
    h('p', { class: 'lead' }, m.sc.kbaLead),
    questions.map((q) => field({ id: `q-${q.id}`, label: questionText(q), required: true })),
    h('p', { class: 'hint', id: 'attempts-left' }, format(m.sc.attemptsLeft, String(attemptsLeft))),
    h('button', { type: 'submit', class: 'primary' }, m.sc.verify),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    say(undefined);
    const answers = questions.map((q) => ({ questionId: q.id, answer: (form.elements.namedItem(`q-${q.id}`) as HTMLInputElement).value.trim() }));
    const empty = answers.filter((a) => a.answer === '');
    if (empty.length > 0) {
      for (const a of empty) showFieldError(form, `q-${a.questionId}`, m.reasons.required!);
      return say(m.checkFields);
    }
    void busy(form, async () => {
      try {
        showOverview((await api<UserToken>('POST', path('/kba/answers'), { body: { answers }, lang })).body);
      } catch (err) {
        if (err instanceof Problem && err.status === 404) return showNotFound();
        if (err instanceof Problem && err.code === 'KBA_FAILED') {
          const left = Number(err.body.attemptsLeft ?? 0);
          return showQuestions(pii, questions, left, format(m.sc.kbaFailed, String(left)));
        }
        say(explain(err, m));
      }
    });
  });
  screen('kba', m.sc.kbaTitle, { alert }, form).focus();
}

/** 203: consent-based enrollment; the account is created only on "I agree" (PATCH). */
function showConsent(opts: { notice?: string } = {}) {
  redraw = () => showConsent(opts);
  const actions: HTMLDivElement = h(
    'div',
    { class: 'actions' },
    h(
      'button',
      {
        type: 'button',
        class: 'primary',
        id: 'consent',
        onclick: () =>
          void busy(actions, async () => {
            say(undefined);
            try {
              showOverview((await api<UserToken>('PATCH', path(), { lang })).body);
            } catch (err) {
              if (err instanceof Problem && err.status === 404) return showNotFound();
              say(err instanceof Problem && err.code === 'CONFLICT' ? m.sc.busy : explain(err, m));
            }
          }),
      },
      m.sc.consent,
    ),
    h('button', { type: 'button', class: 'secondary', id: 'decline', onclick: () => showDeclined() }, m.sc.decline),
  );
  screen(
    'consent',
    m.sc.consentTitle,
    opts,
    h('p', { class: 'lead' }, m.sc.consentLead),
    h(
      'ul',
      { class: 'points' },
      m.sc.consentPoints.map((p) => h('li', {}, p)),
    ),
    actions,
  ).focus();
}

function showDeclined() {
  redraw = showDeclined;
  screen('declined', m.sc.consentTitle, {}, h('p', { class: 'lead', id: 'declined' }, m.sc.declined)).focus();
}

async function start() {
  document.documentElement.lang = lang;
  showChecking();
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(authToken)) return showNotFound();
  try {
    const { status, body } = await api<UserToken | { pii: Pii }>('GET', path(), { lang });
    if (status === 200) return showOverview(body as UserToken);
    if (status === 202) return showEnrollment((body as { pii: Pii }).pii);
    if (status === 203) return showConsent();
    showFailure(new Problem(status, {}), () => void start());
  } catch (err) {
    if (err instanceof Problem && err.status === 404) return showNotFound();
    showFailure(err, () => void start());
  }
}

void start();
