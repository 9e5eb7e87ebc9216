// The sign-up page's steps (page: bff/src/flows/sign-up/pages.ts): details -> code sent -> code
// entered -> account created, against the same-origin JSON API of the sign-up flow (bff/openapi.yaml,
// "sign-up"). Every problem the API names a field for is shown next to that field; the rest, and
// waits (429), in the alert at the top. Served as a file: the page's CSP allows no inline script.

const strings = JSON.parse(document.getElementById('strings').textContent);
const $ = (id) => document.getElementById(id);
const details = $('details');
const verify = $('verify');
const steps = { details, verify, done: $('done') };
const DETAIL_FIELDS = ['email', 'phone', 'firstName', 'username', 'password'];

/** The proof of the identifier from a verified code; kept so a fixed detail needs no new code. */
let proof;
let resendTimer;

const format = (text, value) => text.replace('{0}', value);
const kind = () => details.elements.kind.value;
const identifier = () => ({ [kind()]: details.elements[kind()].value.trim() });
const identifierKey = (id) => JSON.stringify(id);

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
  for (const k of ['email', 'phone']) {
    const field = details.querySelector(`[data-field="${k}"]`);
    field.hidden = k !== kind();
  }
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

/** English shows the API's own words (they are the most precise); other languages ours, when we have them. */
function explain(issue) {
  const ours = strings.reasons[`${issue.field}.${issue.reason}`] ?? strings.reasons[issue.reason];
  if (document.documentElement.lang === 'en' && issue.message) return issue.message;
  return ours ?? issue.message ?? strings.failed;
}

/** Marks a visible field invalid and shows the message under it; false when the field is not on screen. */
function markField(name, message) {
  const input = $(name);
  if (!input || input.closest('[hidden]')) return false;
  input.setAttribute('aria-invalid', 'true');
  const error = $(`${name}-error`);
  error.textContent = message;
  error.hidden = false;
  return true;
}

/** Field issues next to their fields (a summary in the alert announces them), the rest in the alert. */
function showIssues(issues, fallback) {
  const elsewhere = [];
  let first;
  for (const issue of issues) {
    const message = explain(issue);
    if (markField(issue.field, message)) first ??= $(issue.field);
    else elsewhere.push(message);
  }
  if (first) showAlert([strings.checkFields, ...elsewhere]);
  else showAlert(elsewhere.length > 0 ? elsewhere : [fallback ?? strings.failed]);
  first?.focus();
}

function duration(seconds) {
  return seconds < 90 ? format(strings.seconds, seconds) : format(strings.minutes, Math.ceil(seconds / 60));
}

/** A failed call: a wait, an outage, or field issues, on the step they belong to. */
function showProblem(result) {
  if (result.network) return showAlert([strings.network]);
  if (result.status === 429) {
    const wait = result.retryAfter ?? 60;
    if (!verify.hidden) startCooldown(wait);
    return showAlert([format(strings.rateLimited, duration(wait))]);
  }
  if (result.status >= 500) return showAlert([strings.unavailable]);
  const issues = result.problem.fields ?? [];
  if (issues.some((i) => i.field === 'proof')) {
    proof = undefined;
    show('verify');
    return showIssues(issues.map((i) => (i.field === 'proof' ? { ...i, field: 'code' } : i)));
  }
  if (issues.some((i) => DETAIL_FIELDS.includes(i.field))) show('details');
  return showIssues(issues, result.problem.detail);
}

/** Empty required fields, checked before anything is sent (the API checks everything again). */
function missingRequired(form) {
  const issues = [...form.querySelectorAll('input[required]')]
    .filter((input) => !input.closest('[hidden]') && input.value.trim() === '')
    .map((input) => ({ field: input.name, reason: 'required' }));
  if (issues.length > 0) showIssues(issues);
  return issues.length > 0;
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

/** The code's message is written in the page's language. */
async function sendCode() {
  return call('/api/v1/otp', { ...identifier(), purpose: 'sign-up', language: document.documentElement.lang });
}

function startCooldown(seconds) {
  const resend = $('resend');
  let left = Math.max(0, Math.round(seconds));
  clearInterval(resendTimer);
  resendTimer = undefined;
  const tick = () => {
    if (left <= 0) {
      clearInterval(resendTimer);
      resendTimer = undefined;
      resend.disabled = false;
      resend.textContent = resend.dataset.label;
      return;
    }
    resend.disabled = true;
    resend.textContent = format(strings.resendIn, duration(left));
    left -= 1;
  };
  resend.dataset.label ??= resend.textContent;
  if (left > 0) resendTimer = setInterval(tick, 1000);
  tick();
}

async function createAccount() {
  const form = details.elements;
  const optional = (name) => (form[name].value.trim() === '' ? {} : { [name]: form[name].value.trim() });
  const result = await call('/api/v1/signup', {
    firstName: form.firstName.value.trim(),
    ...optional('username'),
    ...identifier(),
    password: form.password.value,
    proof: proof.value,
  });
  if (!result.ok) return showProblem(result);
  $('new-username').textContent = result.data.username;
  form.password.value = '';
  enter('done');
}

// ---- wiring ----

details.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors();
  if (missingRequired(details)) return;
  const id = identifier();
  await busy(details, async () => {
    // Only a detail other than the identifier was wrong: the verified code still stands.
    if (proof?.for === identifierKey(id)) return createAccount();
    proof = undefined;
    const result = await sendCode();
    if (!result.ok) return showProblem(result);
    $('sent-to').textContent = Object.values(id)[0];
    verify.elements.code.value = '';
    enter('verify');
    startCooldown(result.data.resendAfterSeconds ?? 0);
  });
});

verify.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors();
  if (missingRequired(verify)) return;
  const id = identifier();
  await busy(verify, async () => {
    const result = await call('/api/v1/otp/verify', { ...id, purpose: 'sign-up', code: verify.elements.code.value.trim() });
    if (!result.ok) return showProblem(result);
    proof = { for: identifierKey(id), value: result.data.proof };
    await createAccount();
  });
});

$('resend').addEventListener('click', async () => {
  clearErrors();
  await busy(verify, async () => {
    const result = await sendCode();
    if (!result.ok) return showProblem(result);
    verify.elements.code.value = '';
    showNotice(strings.codeResent);
    startCooldown(result.data.resendAfterSeconds ?? 0);
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
