import { api, duration, explain, explainField, Problem, SessionEnded } from './api.ts';
import type { Notes } from './card.ts';
import { say } from './card.ts';
import { busy, clearFieldErrors, field, h, showFieldError } from './dom.ts';
import { format, type Language, type Messages } from './messages.ts';
import { displayPhone } from './phone.ts';
import { pictureSection } from './picture.ts';

/**
 * The signed-in screen: the profile from `GET /api/v1/user`, the name form, the e-mail address and
 * mobile number (add, change, verify, remove; every one proved by a code sent to it), the password
 * and the authenticator app (Keycloak's own pages, application-initiated actions), the linked
 * sign-in methods. What it needs of the page around it (main.ts) is `Shell`.
 */
export interface Profile {
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
  language: Language | null;
  /** One of the realm's user types (`GET /api/v1/user-types`); null when never chosen. */
  userType: string | null;
  identityProviders: { provider: string; username: string }[];
}

/** One of the realm's user types with its label in each language (`GET /api/v1/user-types`). */
export interface UserType {
  value: string;
  label: Record<Language, string>;
}

/** The realm's user types, read once per page (main.ts); none while they could not be read (the choice is then left out). */
let userTypes: UserType[] = [];
export function setUserTypes(types: UserType[]): void {
  userTypes = types;
}

export interface Shell {
  m(): Messages;
  lang(): Language;
  /** Draws a screen (title, alert and notice lines, content); returns its heading. */
  screen(title: string, opts: Notes, ...content: (Node | false | null)[]): HTMLHeadingElement;
  /** What to call to draw the current screen again (a language switch). */
  setRedraw(redraw: () => void): void;
  /** A BFF call with the access token; SessionEnded when the session is over. */
  callApi<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** One of Keycloak's application-initiated actions (its own page), back to the portal afterwards. */
  keycloakAction(action: 'UPDATE_PASSWORD' | 'CONFIGURE_TOTP'): void;
  /** "Merge another account" (merge.ts): its screens, then back to the profile. */
  startMerge(): void;
  showSessionEnded(): void;
  signOutButton(): HTMLElement;
}

type Kind = 'email' | 'phone';
type Mode = 'change' | 'verify';

/**
 * A code form under way: kept across redraws (a language switch), so a code already sent is never
 * lost. `proof` is kept once the code was checked: a save that failed (503) is retried with it.
 */
interface CodeForm {
  kind: Kind;
  mode: Mode;
  /** The value the code went to; undefined while a new value is being typed. */
  sentTo?: string;
  /** The first line above the code field (the code was sent, or could not be sent yet). */
  sentNote?: 'sent' | 'resent' | 'notYet';
  /** When another code may be asked for (ms since the epoch). */
  resendAt?: number;
  proof?: string;
}

let open: CodeForm | undefined;
let countdown: ReturnType<typeof setInterval> | undefined;

export function showProfile(shell: Shell, p: Profile, opts: Notes = {}): void {
  const m = shell.m();
  shell.setRedraw(() => showProfile(shell, p));
  if (opts.notice) open = undefined;
  const tenant = !p.tenant
    ? m.tenantNone
    : p.tenant.alias === 'custodian'
      ? m.tenantCustodian
      : format(m.tenantState, m.states[p.tenant.alias] ?? p.tenant.name);
  const heading = shell.screen(
    m.profileTitle,
    opts,
    h('p', { class: 'lead', id: 'signed-in-as' }, format(m.signedInAs, p.username)),
    pictureSection(shell),
    detailsForm(shell, p),
    h(
      'section',
      { 'aria-labelledby': 'identifiers-heading' },
      h('h2', { id: 'identifiers-heading' }, m.identifiers),
      identifierBlock(shell, p, 'email'),
      identifierBlock(shell, p, 'phone'),
    ),
    securitySection(shell),
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
          ? [
              h('dt', {}, m.memberSince),
              h('dd', {}, new Date(p.createdAt).toLocaleDateString(shell.lang() === 'hi' ? 'hi-IN' : 'en-IN', { dateStyle: 'long' })),
            ]
          : null,
      ),
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
              h(
                'li',
                { 'data-provider': idp.provider },
                h('strong', {}, m.idps[idp.provider] ?? idp.provider),
                ' · ',
                h('span', { translate: 'no' }, idp.username),
              ),
            ),
          ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'merge-heading' },
      h('h2', { id: 'merge-heading' }, m.merge.section),
      h('p', { class: 'hint', id: 'merge-hint' }, m.merge.sectionLead),
      h(
        'button',
        { type: 'button', class: 'secondary', id: 'merge-start', 'aria-describedby': 'merge-hint', onclick: () => shell.startMerge() },
        m.merge.start,
      ),
    ),
    h('div', { class: 'footer-band' }, shell.signOutButton()),
  );
  const reopened = open && document.getElementById(`${open.kind}-block`);
  if (open && reopened) renderCodeForm(shell, p, reopened, open);
  else heading.focus();
}

/**
 * Shows a problem where it belongs: each named field next to its input (`inputs` maps the API's
 * field names to input ids; the input is marked invalid and described by it), anything else in the
 * card's alert; the first bad field gets the focus.
 */
function showProblem(shell: Shell, form: HTMLElement, err: unknown, inputs: Record<string, string>, texts: Record<string, string> = {}): void {
  if (err instanceof SessionEnded) {
    shell.showSessionEnded();
    return;
  }
  const m = shell.m();
  const issues = err instanceof Problem ? err.fields : [];
  const placed = issues.filter((f) => inputs[f.field] && showFieldError(form, inputs[f.field]!, texts[f.field] ?? explainField(f, m)));
  const unplaced = issues.filter((f) => !placed.includes(f));
  // Every problem next to its field: nothing in the alert, which may be a screen away on a phone.
  if (placed.length === 0 || unplaced.length > 0) say('alert', [explain(err, m), ...unplaced.map((f) => explainField(f, m))].join(' '));
  // A choice (fieldset) is not focusable: its first option is.
  const invalid = form.querySelector<HTMLElement>('[aria-invalid="true"]');
  focusSoon((invalid?.matches('fieldset') ? invalid.querySelector('input') : invalid) ?? document.getElementById('alert'));
}

/** Focus once the form's controls are enabled again (`busy` re-enables them after the work returns). */
function focusSoon(el: HTMLElement | null): void {
  setTimeout(() => el?.focus(), 0);
}

function startAction(form: HTMLElement): void {
  clearFieldErrors(form);
  say('alert', undefined);
  say('notice', undefined);
}

function detailsForm(shell: Shell, p: Profile): HTMLFormElement {
  const m = shell.m();
  const form: HTMLFormElement = h(
    'form',
    { id: 'details', class: 'stack', novalidate: true, 'aria-labelledby': 'details-heading' },
    h('h2', { id: 'details-heading' }, m.details),
    field({ id: 'firstName', label: m.firstName, value: p.firstName ?? '', autocomplete: 'given-name', required: true }),
    field({ id: 'lastName', label: m.lastName, value: p.lastName ?? '', autocomplete: 'family-name' }),
    userTypeChoice(shell, p),
    h('button', { type: 'submit', class: 'primary' }, m.save),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    startAction(form);
    const value = (id: string) => (form.elements.namedItem(id) as HTMLInputElement).value.trim();
    void busy(form, async () => {
      try {
        const userType = form.querySelector<HTMLInputElement>('input[name="userType"]:checked')?.value;
        const updated = await shell.callApi<Profile>('PUT', '/api/v1/user', {
          firstName: value('firstName'),
          lastName: value('lastName') || null,
          ...(userType ? { userType } : {}),
        });
        showProfile(shell, updated, { notice: shell.m().saved });
      } catch (err) {
        showProblem(shell, form, err, { firstName: 'firstName', lastName: 'lastName', userType: 'userType' });
      }
    });
  });
  return form;
}

/**
 * The user type as a radio group, the account's checked (none before one is chosen); saved with the
 * names. A value the realm no longer offers stays shown, so saving the names does not lose it.
 */
function userTypeChoice(shell: Shell, p: Profile): HTMLElement | null {
  const m = shell.m();
  const known = userTypes.some((t) => t.value === p.userType);
  const options = p.userType && !known ? [...userTypes, { value: p.userType, label: { en: p.userType, hi: p.userType } }] : userTypes;
  if (options.length === 0) return null;
  return h(
    'fieldset',
    { class: 'field choices', id: 'userType', role: 'radiogroup', 'aria-describedby': 'userType-error', 'data-field': 'userType' },
    h('legend', {}, m.userType),
    options.map((t, i) => {
      const radio = h('input', { type: 'radio', id: `userType-${i}`, name: 'userType', value: t.value });
      radio.checked = t.value === p.userType;
      return h('div', { class: 'check' }, radio, h('label', { for: `userType-${i}` }, t.label[shell.lang()]));
    }),
    h('p', { class: 'error', id: 'userType-error', hidden: true }),
  );
}

/** One identifier: its value and state, and what can be done with it. */
function identifierBlock(shell: Shell, p: Profile, kind: Kind): HTMLElement {
  const m = shell.m();
  const value = kind === 'email' ? p.email : p.phone;
  const verified = kind === 'email' ? p.emailVerified : p.phoneVerified;
  const label = kind === 'email' ? m.email : m.phone;
  const openForm = (mode: Mode) => () => {
    open = { kind, mode };
    renderCodeForm(shell, p, block, open);
  };
  const block = h(
    'div',
    { class: 'identifier', id: `${kind}-block` },
    h(
      'div',
      { class: 'identifier-row' },
      h(
        'div',
        {},
        h('span', { class: 'label', id: `${kind}-label` }, label),
        h(
          'span',
          { class: 'value', id: `${kind}-value`, translate: value ? 'no' : undefined },
          value ? (kind === 'phone' ? displayPhone(value) : value) : m.none,
        ),
        value ? h('span', { class: verified ? 'badge ok' : 'badge', id: `${kind}-state` }, verified ? m.verified : m.notVerified) : null,
      ),
      h(
        'div',
        { class: 'row-actions' },
        value && !verified
          ? h('button', { type: 'button', class: 'link', id: `${kind}-verify`, 'aria-describedby': `${kind}-label`, onclick: openForm('verify') }, m.verify)
          : null,
        h(
          'button',
          { type: 'button', class: 'link', id: `${kind}-change`, 'aria-describedby': `${kind}-label`, 'aria-expanded': 'false', onclick: openForm('change') },
          value ? m.change : m.add,
        ),
        kind === 'phone' && value
          ? h(
              'button',
              { type: 'button', class: 'link', id: 'phone-remove', 'aria-describedby': 'phone-label', onclick: () => void removePhone(shell, block) },
              m.remove,
            )
          : null,
      ),
    ),
  );
  return block;
}

async function removePhone(shell: Shell, block: HTMLElement): Promise<void> {
  startAction(block);
  await busy(block, async () => {
    try {
      showProfile(shell, await shell.callApi<Profile>('PUT', '/api/v1/user', { phone: null }), { notice: shell.m().phoneRemoved });
    } catch (err) {
      showProblem(shell, block, err, {});
    }
  });
}

/**
 * The code form of one identifier, at the step `state` is in: the new value (change), then the code
 * sent to it with "Send a new code" (its cooldown counted down on the button's hint, never an
 * error). Change: POST /api/v1/otp -> /otp/verify -> PUT /api/v1/user with the proof. Verify: the
 * same for the account's own unverified value, which the BFF then marks verified (decision 0021).
 */
function renderCodeForm(shell: Shell, p: Profile, block: HTMLElement, state: CodeForm): void {
  const m = shell.m();
  const { kind, mode } = state;
  const current = kind === 'email' ? p.email : p.phone;
  block.querySelector(`#${kind}-change`)?.setAttribute('aria-expanded', 'true');
  block.querySelector('form')?.remove();
  clearInterval(countdown);
  const inputId = `new-${kind}`;
  const codeId = `${kind}-code`;
  const close = () => {
    open = undefined;
    clearInterval(countdown);
    showProfile(shell, p);
  };
  const form: HTMLFormElement = h('form', { class: 'stack change', id: `${kind}-form`, novalidate: true, 'data-mode': mode });
  block.append(form);

  // ---- step 1: the new value (change only) ----
  if (!state.sentTo && mode === 'change') {
    form.append(
      field(
        kind === 'email'
          ? { id: inputId, label: m.newEmail, type: 'email', autocomplete: 'email', required: true }
          : { id: inputId, label: m.newPhone, type: 'tel', autocomplete: 'tel', hint: m.phoneHint, inputmode: 'tel', required: true },
      ),
      h('button', { type: 'submit', class: 'primary', id: `${kind}-send` }, m.sendCode),
      h('button', { type: 'button', class: 'link', id: `${kind}-cancel`, onclick: close }, m.cancel),
    );
    const input = form.elements.namedItem(inputId) as HTMLInputElement;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      startAction(form);
      void busy(form, () => sendCode(shell, p, block, state, input.value.trim(), form, { [kind]: inputId }));
    });
    input.focus();
    return;
  }
  if (!state.sentTo && mode === 'verify') {
    // Verify starts by sending the code to the value the account has.
    form.append(h('p', { class: 'lead' }, m.verifyLead[kind]), h('p', { class: 'hint' }, m.working));
    void busy(form, () => sendCode(shell, p, block, state, current ?? '', form, {}));
    return;
  }

  // ---- step 2: the code ----
  const sentTo = state.sentTo!;
  const shown = kind === 'phone' ? displayPhone(sentTo) : sentTo;
  const note = state.sentNote === 'notYet' ? m.codeNotSentYet : state.sentNote === 'resent' ? m.codeResent : m.codeSentTo;
  const codeField = field({ id: codeId, label: m.code, autocomplete: 'one-time-code', inputmode: 'numeric', hint: m.codeHint, required: true });
  codeField.querySelector('input')!.classList.add('code');
  const resend = h('button', { type: 'button', class: 'link', id: `${kind}-resend`, 'aria-describedby': `${kind}-resend-wait` }, m.resend) as HTMLButtonElement;
  const wait = h('p', { class: 'hint', id: `${kind}-resend-wait`, hidden: true });
  if (mode === 'verify') form.append(h('p', { class: 'lead' }, m.verifyLead[kind]));
  form.append(
    h('p', { class: 'lead', id: `${kind}-sent` }, format(note, shown)),
    codeField,
    h('button', { type: 'submit', class: 'primary', id: `${kind}-submit` }, mode === 'verify' ? m.verify : m.verifySave),
    h(
      'div',
      { class: 'secondary-actions' },
      h('div', { class: 'resend' }, resend, wait),
      mode === 'change'
        ? h(
            'button',
            {
              type: 'button',
              class: 'link',
              id: `${kind}-other`,
              onclick: () => {
                open = { kind, mode };
                renderCodeForm(shell, p, block, open);
              },
            },
            kind === 'email' ? m.otherEmail : m.otherPhone,
          )
        : null,
      h('button', { type: 'button', class: 'link', id: `${kind}-cancel`, onclick: close }, m.cancel),
    ),
  );
  const codeInput = form.elements.namedItem(codeId) as HTMLInputElement;
  runCountdown(shell, resend, wait, state);
  resend.addEventListener('click', () => {
    startAction(form);
    void busy(form, () => sendCode(shell, p, block, state, sentTo, form, {}, true));
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    startAction(form);
    const code = codeInput.value.trim();
    if (!/^\d{6}$/.test(code) && !state.proof) {
      showFieldError(form, codeId, code === '' ? m.reasons['code.required']! : m.reasons['code.invalid_format']!);
      return codeInput.focus();
    }
    void busy(form, () => checkAndSave(shell, form, state, code));
  });
  codeInput.focus();
}

/** The button's hint counts down to the moment another code may be asked for; then the button works. */
function runCountdown(shell: Shell, button: HTMLButtonElement, hint: HTMLElement, state: CodeForm): void {
  clearInterval(countdown);
  const tick = () => {
    const left = Math.ceil(((state.resendAt ?? 0) - Date.now()) / 1000);
    if (!button.isConnected || left <= 0) {
      clearInterval(countdown);
      button.disabled = false;
      hint.hidden = true;
      return;
    }
    button.disabled = true;
    hint.hidden = false;
    hint.textContent = format(shell.m().resendIn, duration(left, shell.m()));
  };
  tick();
  countdown = setInterval(tick, 1000);
}

/**
 * POST /api/v1/otp. Sent: the code step. Refused for a wait (the cooldown after an earlier code, or
 * a limit): the code step all the same, saying no new code went out and counting the wait down, so a
 * code sent before stays usable. Anything else: next to the value's field, or in the alert.
 */
async function sendCode(
  shell: Shell,
  p: Profile,
  block: HTMLElement,
  state: CodeForm,
  value: string,
  form: HTMLElement,
  inputs: Record<string, string>,
  again = false,
): Promise<void> {
  const identifier = { [state.kind]: value };
  try {
    const { body } = await api<{ resendAfterSeconds: number }>('POST', '/api/v1/otp', {
      body: { ...identifier, purpose: 'change-identifier', language: shell.lang() },
      lang: shell.lang(),
    });
    Object.assign(state, { sentTo: value, sentNote: again ? 'resent' : 'sent', resendAt: Date.now() + body.resendAfterSeconds * 1000, proof: undefined });
  } catch (err) {
    if (err instanceof Problem && err.code === 'RATE_LIMITED') {
      Object.assign(state, { sentTo: value, sentNote: 'notYet', resendAt: Date.now() + (err.retryAfterSeconds ?? 60) * 1000 });
    } else if (err instanceof Problem && err.status === 400 && state.mode === 'verify') {
      // The account's own value no longer passes the rules: nothing to verify here; change it instead.
      return showProblem(shell, form, err, {});
    } else {
      return showProblem(shell, form, err, inputs);
    }
  }
  renderCodeForm(shell, p, block, state);
}

/** /otp/verify -> the proof -> PUT /api/v1/user; a proof already had (a save that failed) is used again. */
async function checkAndSave(shell: Shell, form: HTMLElement, state: CodeForm, code: string): Promise<void> {
  const m = shell.m();
  const { kind, mode } = state;
  const identifier = { [kind]: state.sentTo! };
  const codeId = `${kind}-code`;
  if (!state.proof) {
    try {
      const { body } = await api<{ proof: string }>('POST', '/api/v1/otp/verify', {
        body: { ...identifier, purpose: 'change-identifier', code },
        lang: shell.lang(),
      });
      state.proof = body.proof;
    } catch (err) {
      if (err instanceof Problem && err.code === 'RATE_LIMITED') {
        const wait = err.retryAfterSeconds ?? 60;
        state.resendAt = Date.now() + wait * 1000;
        showFieldError(form, codeId, format(m.tooManyCodes, duration(wait, m)));
        const resend = form.querySelector<HTMLButtonElement>(`#${kind}-resend`);
        const hint = form.querySelector<HTMLElement>(`#${kind}-resend-wait`);
        if (resend && hint) runCountdown(shell, resend, hint, state);
        return focusSoon(form.querySelector<HTMLInputElement>(`#${codeId}`));
      }
      return showProblem(shell, form, err, { code: codeId, [kind]: codeId });
    }
  }
  try {
    const updated = await shell.callApi<Profile>('PUT', '/api/v1/user', { ...identifier, [`${kind}Proof`]: state.proof });
    open = undefined;
    clearInterval(countdown);
    const notice = mode === 'verify' ? (kind === 'email' ? m.emailVerifiedNow : m.phoneVerifiedNow) : kind === 'email' ? m.emailChanged : m.phoneChanged;
    showProfile(shell, updated, { notice });
  } catch (err) {
    if (err instanceof Problem && err.status === 400) state.proof = undefined;
    if (err instanceof Problem && err.code === 'ACCOUNT_EXISTS') {
      // Nothing was spent: the proof stays good, but another account has the value for good.
      state.proof = undefined;
      const text = mode === 'verify' ? m.verifyTaken[kind] : m.reasons[`${kind}.taken`]!;
      return showProblem(shell, form, err, { [kind]: `${kind}-code` }, { [kind]: text });
    }
    showProblem(shell, form, err, { [`${kind}Proof`]: codeId, [kind]: codeId, code: codeId });
  }
}

/** Password and authenticator app: Keycloak's own pages (themed), which come back here (decision 0031 lists what is not here yet). */
function securitySection(shell: Shell): HTMLElement {
  const m = shell.m();
  return h(
    'section',
    { 'aria-labelledby': 'security-heading' },
    h('h2', { id: 'security-heading' }, m.security),
    h(
      'div',
      { class: 'identifier-row' },
      h('span', { class: 'label' }, m.password),
      h('button', { type: 'button', class: 'link', id: 'change-password', onclick: () => shell.keycloakAction('UPDATE_PASSWORD') }, m.changePassword),
    ),
    h(
      'div',
      { class: 'identifier-row' },
      h('div', {}, h('span', { class: 'label' }, m.twoStep), h('p', { class: 'hint', id: 'two-step-hint' }, m.twoStepHint)),
      h(
        'button',
        { type: 'button', class: 'link', id: 'set-up-two-step', 'aria-describedby': 'two-step-hint', onclick: () => shell.keycloakAction('CONFIGURE_TOTP') },
        m.setUpTwoStep,
      ),
    ),
  );
}
