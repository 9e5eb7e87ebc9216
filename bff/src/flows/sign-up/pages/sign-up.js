// The sign-up page's steps (page: bff/src/flows/sign-up/pages.ts) against the same-origin JSON API of
// the sign-up flow (bff/openapi.yaml, "sign-up"):
//   details --check (every problem at once, nothing sent)--> code sent --code--> account created.
// Going back keeps what was sent: a code sent to an identifier stays usable while it is valid, so
// "Change details" and "Send code" with the same identifier go back to the code without a new one; a
// new identifier gets its own code. The resend cooldown is a countdown on the button, not an error.
// Every problem the API names a field for is shown next to that field, in the page's words (looked up
// by field and reason, never the API's own text); the rest, and waits (429), in the alert at the top.
// Served as a file: the page's CSP allows no inline script.

const strings = JSON.parse(document.getElementById('strings').textContent);
const $ = (id) => document.getElementById(id);
const details = $('details');
const verify = $('verify');
const steps = { details, verify, done: $('done') };
const DETAIL_FIELDS = ['email', 'phone', 'firstName', 'lastName', 'userType', 'username', 'password'];
const lang = document.documentElement.lang;

/**
 * Codes sent, by identifier (`kind:value`, as the check normalised it): when a new one may be asked
 * for and until when the one sent is good. Lost on reload (the cooldown's 429 then tells the page).
 */
const sent = new Map();
/** The identifier the details were last checked for: { kind, value, display, key }. */
let current;
/** The proof of a verified code, for the identifier it was issued for; kept so a fixed detail needs no new code. */
let proof;
let resendTimer;

const format = (text, value) => text.replace('{0}', value);
const kind = () => details.elements.kind.value;

function show(step) {
  for (const [name, element] of Object.entries(steps)) element.hidden = name !== step;
  $('have-account').hidden = step === 'done';
  // Switching the language reloads the page: offered only before anything was sent.
  $('languages').hidden = step !== 'details';
  $('title').textContent = strings.titles[step];
  document.title = `${strings.titles[step]} · ${strings.titles.product}`;
}

/** Moves focus to the new step's heading, so screen readers start reading there. */
function enter(step) {
  show(step);
  $('title').focus();
}

function syncKind() {
  for (const k of ['email', 'phone']) details.querySelector(`[data-field="${k}"]`).hidden = k !== kind();
}

// ---- errors ----

function clearErrors() {
  $('alert').hidden = true;
  $('alert').replaceChildren();
  $('notice').hidden = true;
  for (const input of document.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  for (const error of document.querySelectorAll('.error')) {
    error.hidden = true;
    error.textContent = '';
  }
}

function showAlert(lines) {
  const alert = $('alert');
  const [first, ...rest] = lines;
  const nodes = [Object.assign(document.createElement('p'), { textContent: first })];
  if (rest.length > 0) {
    const list = document.createElement('ul');
    for (const line of rest) list.append(Object.assign(document.createElement('li'), { textContent: line }));
    nodes.push(list);
  }
  alert.replaceChildren(...nodes);
  alert.hidden = false;
}

function showNotice(text) {
  $('notice').textContent = text;
  $('notice').hidden = false;
}

/** Our words for a problem with a field: by field and reason, then the field's, then the reason's. */
function explain(issue) {
  const r = strings.reasons;
  return r[`${issue.field}.${issue.reason}`] ?? r[issue.field] ?? r[issue.reason] ?? r.invalid;
}

/** Marks a visible field invalid and shows the message under it; false when the field is not on screen. */
function markField(name, message) {
  const input = $(name);
  if (!input || input.closest('[hidden]')) return false;
  input.setAttribute('aria-invalid', 'true');
  const error = $(`${name}-error`);
  // Two problems with one field (a password too short and without a digit) are both told.
  error.textContent = error.textContent ? `${error.textContent} ${message}` : message;
  error.hidden = false;
  return true;
}

/** Field issues next to their fields, all of them (a summary in the alert announces them), the rest in the alert. */
function showIssues(issues, fallback) {
  const elsewhere = [];
  let marked = false;
  for (const issue of issues) {
    const message = explain(issue);
    if (markField(issue.field, message)) marked = true;
    else if (!elsewhere.includes(message)) elsewhere.push(message);
  }
  if (marked) showAlert([strings.checkFields, ...elsewhere]);
  else showAlert(elsewhere.length > 0 ? elsewhere : [fallback ?? strings.failed]);
  // Focus on the first field to fix, in the order of the page (a choice: its first option).
  const first = marked ? document.querySelector('.step:not([hidden]) [aria-invalid="true"]') : null;
  (first?.matches('fieldset') ? first.querySelector('input') : first)?.focus();
}

function duration(seconds) {
  return seconds < 90 ? format(strings.seconds, seconds) : format(strings.minutes, Math.ceil(seconds / 60));
}

/** A failed call: a wait, an outage, or field issues, on the step they belong to. */
function showProblem(result) {
  if (result.network) return showAlert([strings.network]);
  const problem = result.problem ?? {};
  if (result.status === 429) return showAlert([format(strings.rateLimited, duration(result.retryAfter ?? 60))]);
  if (problem.code === 'DELIVERY_FAILED') return showAlert([strings.deliveryFailed]);
  if (result.status >= 500) return showAlert([strings.unavailable]);
  if (problem.code === 'CONFLICT' && !(problem.fields ?? []).length) return showAlert([strings.busy]);
  const issues = problem.fields ?? [];
  if (issues.some((i) => i.field === 'proof')) {
    proof = undefined;
    show('verify');
    return showIssues(issues.map((i) => (i.field === 'proof' ? { ...i, field: 'code' } : i)));
  }
  if (issues.some((i) => DETAIL_FIELDS.includes(i.field))) show('details');
  return showIssues(issues);
}

// ---- the API ----

async function call(path, body) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, application/problem+json' },
      body: JSON.stringify(body),
    });
  } catch {
    return { ok: false, network: true };
  }
  const data = await res.json().catch(() => ({}));
  if (res.ok) return { ok: true, data };
  const retryAfter = Number(res.headers.get('retry-after')) || data.retryAfterSeconds;
  return { ok: false, status: res.status, problem: data, retryAfter };
}

/** Disables the form's buttons while a call is under way (no double submits). */
async function busy(form, work) {
  const buttons = [...form.querySelectorAll('button')];
  form.setAttribute('aria-busy', 'true');
  for (const b of buttons) b.disabled = true;
  try {
    return await work();
  } finally {
    form.removeAttribute('aria-busy');
    for (const b of buttons) if (b.id !== 'resend' || !resendTimer) b.disabled = false;
  }
}

/** The details as the API takes them: the visible identifier, the optional fields only when filled. */
function detailsBody() {
  const form = details.elements;
  const optional = (name) => (form[name].value.trim() === '' ? {} : { [name]: form[name].value.trim() });
  // None chosen: left out, and the check names the field.
  const userType = details.querySelector('input[name="userType"]:checked')?.value;
  return {
    firstName: form.firstName.value,
    ...optional('lastName'),
    ...(userType ? { userType } : {}),
    [kind()]: form[kind()].value,
    ...optional('username'),
    password: form.password.value,
  };
}

/** The identifier as the check normalised it, for the code routes. */
const identifierOf = (checked) => ({ [checked.kind]: checked.value });

// ---- the resend countdown ----

function startCooldown(until) {
  const resend = $('resend');
  clearInterval(resendTimer);
  resendTimer = undefined;
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(resendTimer);
      resendTimer = undefined;
      resend.disabled = false;
      resend.textContent = strings.labels.resend;
      return;
    }
    resend.disabled = true;
    resend.textContent = format(strings.resendIn, duration(left));
  };
  if (until > Date.now()) resendTimer = setInterval(tick, 1000);
  tick();
}

/** The code step for the identifier checked last, the countdown running for its code. */
function enterCode() {
  const code = sent.get(current.key);
  $('sent-to').textContent = current.display;
  verify.elements.code.value = '';
  enter('verify');
  startCooldown(code?.resendAt ?? 0);
}

/** Sends a code to the identifier checked last (in the page's language); true when one is on its way or still good. */
async function sendCode({ again }) {
  const result = await call('/api/v1/otp', { ...identifierOf(current), purpose: 'sign-up', language: lang });
  const now = Date.now();
  if (result.ok) {
    sent.set(current.key, { resendAt: now + result.data.resendAfterSeconds * 1000, expiresAt: now + result.data.expiresInSeconds * 1000 });
    return true;
  }
  // A code went to this identifier moments ago (before a reload, or from another tab): it is still good.
  if (result.status === 429 && result.problem?.reason === 'cooldown' && !again) {
    sent.set(current.key, { resendAt: now + (result.retryAfter ?? 60) * 1000, expiresAt: Number.POSITIVE_INFINITY });
    showNotice(strings.codeStillValid);
    return true;
  }
  if (result.status === 429 && result.problem?.reason === 'cooldown') {
    startCooldown(now + (result.retryAfter ?? 60) * 1000);
    return false;
  }
  showProblem(result);
  return false;
}

async function createAccount() {
  const result = await call('/api/v1/signup', {
    ...detailsBody(),
    ...identifierOf(current),
    proof: proof.value,
    language: lang,
    ...(strings.returnUrl ? { returnUrl: strings.returnUrl } : {}),
  });
  if (!result.ok) return showProblem(result);
  $('new-username').textContent = result.data.username;
  details.elements.password.value = '';
  const next = $('continue');
  if (result.data.continueUrl) {
    next.href = result.data.continueUrl;
    next.textContent = strings.labels.continue;
  }
  enter('done');
}

// ---- wiring ----

details.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors();
  await busy(details, async () => {
    const checked = await call('/api/v1/signup/check', detailsBody());
    if (!checked.ok) {
      // An empty field is "fill it in", whatever its form would have been (a choice, a fieldset, has no value).
      const empty = (name) => $(name)?.value?.trim() === '';
      const issues = (checked.problem?.fields ?? []).map((i) => (empty(i.field) && DETAIL_FIELDS.includes(i.field) ? { ...i, reason: 'required' } : i));
      return showProblem({ ...checked, problem: { ...checked.problem, fields: issues } });
    }
    const id = checked.data.identifier;
    current = { ...id, key: `${id.kind}:${id.value}` };
    // Only a detail other than the identifier was wrong: the verified code still stands.
    if (proof?.for === current.key) return createAccount();
    proof = undefined;
    // A code already sent here and still good: back to it, nothing sent again.
    if ((sent.get(current.key)?.expiresAt ?? 0) > Date.now()) return enterCode();
    if (await sendCode({ again: false })) enterCode();
  });
});

verify.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors();
  if (verify.elements.code.value.trim() === '') return showIssues([{ field: 'code', reason: 'required' }]);
  await busy(verify, async () => {
    const result = await call('/api/v1/otp/verify', { ...identifierOf(current), purpose: 'sign-up', code: verify.elements.code.value.trim() });
    if (!result.ok) return showProblem(result);
    // A code is used once: the one sent is spent now, a new one is needed for this identifier.
    sent.delete(current.key);
    proof = { for: current.key, value: result.data.proof };
    await createAccount();
  });
});

$('resend').addEventListener('click', async () => {
  clearErrors();
  await busy(verify, async () => {
    if (!(await sendCode({ again: true }))) return;
    verify.elements.code.value = '';
    showNotice(strings.codeResent);
    startCooldown(sent.get(current.key).resendAt);
  });
});

$('change').addEventListener('click', () => {
  clearErrors();
  enter('details');
});

for (const radio of details.elements.kind) {
  radio.addEventListener('change', () => {
    syncKind();
    clearErrors();
  });
}

$('show-password').addEventListener('change', (event) => {
  details.elements.password.type = event.target.checked ? 'text' : 'password';
});

syncKind();
show('details');
