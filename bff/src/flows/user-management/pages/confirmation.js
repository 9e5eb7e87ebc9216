// The "get a new link" form of the confirmation page (bff/src/flows/user-management/pages.ts): asks
// POST /api/v1/auth/send for the address typed (the answer is the same whether or not it has an
// account), shows a problem with the address next to the field and a wait (429) as a countdown.
// Served as a file: the page's CSP allows no inline script.

const strings = JSON.parse(document.getElementById('strings').textContent);
const form = document.getElementById('new-link');
const input = document.getElementById('email');
const error = document.getElementById('email-error');
const notice = document.getElementById('notice');
const send = document.getElementById('send');
let timer;

function say(text) {
  notice.textContent = text ?? '';
  notice.hidden = !text;
}

function fieldError(text) {
  error.textContent = text ?? '';
  error.hidden = !text;
  if (text) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/** Counts a wait down on the notice line; the button comes back when it is over. */
function wait(seconds) {
  clearInterval(timer);
  let left = seconds;
  send.disabled = true;
  const tick = () => {
    if (left <= 0) {
      clearInterval(timer);
      send.disabled = false;
      say(undefined);
      return;
    }
    say(strings.wait.replace('{0}', String(left)));
    left -= 1;
  };
  tick();
  timer = setInterval(tick, 1000);
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  fieldError(undefined);
  say(undefined);
  send.disabled = true;
  let res;
  try {
    res = await fetch('/api/v1/auth/send', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'accept-language': document.documentElement.lang },
      body: JSON.stringify({ email: input.value.trim() }),
    });
  } catch {
    send.disabled = false;
    return say(strings.network);
  }
  const body = await res.json().catch(() => ({}));
  send.disabled = false;
  if (res.status === 202) return say(strings.sent);
  if (res.status === 429) return wait(Number(res.headers.get('retry-after')) || Number(body.retryAfterSeconds) || 60);
  const issue = Array.isArray(body.fields) ? body.fields.find((f) => f.field === 'email') : undefined;
  if (issue) {
    fieldError(strings.reasons[issue.reason] ?? strings.reasons.invalid_format);
    return input.focus();
  }
  say(strings.failed);
});
