// The claim pages' forms, sent as JSON (the BFF takes JSON bodies only, which keeps other sites'
// plain HTML forms from driving its endpoints). The answer names where to go next: the flow's page
// again (its next step, or the same one with an error) or, once decided, back to Keycloak. A refusal
// is problem+json with that `location` too; a 5xx has none: then "try again" on this page.
for (const form of document.querySelectorAll('form[data-json]')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = Object.fromEntries(new FormData(form, event.submitter).entries());
    for (const button of form.querySelectorAll('button')) button.disabled = true;
    let location = window.location.pathname + window.location.search;
    try {
      const res = await fetch(form.action, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = await res.json().catch(() => ({}));
      if (typeof answer.location === 'string') location = answer.location;
      else location = withError(res.status === 409 ? 'busy' : 'unavailable');
    } catch {
      location = withError('unavailable');
    }
    window.location.assign(location);
  });
}

function withError(error) {
  const url = new URL(window.location.href);
  url.searchParams.set('error', error);
  url.searchParams.delete('retry');
  return url.pathname + url.search;
}

// A wait (too many attempts, or a new code asked for too soon) counts down where it is said; the
// buttons marked data-wait stay off until it ends, then the message says the person may go on.
const strings = JSON.parse(document.getElementById('strings')?.textContent ?? '{}');
const waiting = document.querySelector('[data-countdown]');
if (waiting && strings.units) {
  const end = Date.now() + Number(waiting.dataset.countdown) * 1000;
  const shown = waiting.querySelector('.countdown');
  for (const button of document.querySelectorAll('button[data-wait]')) button.disabled = true;
  const tick = () => {
    const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    if (left > 0) {
      shown.textContent = left < 90 ? `${left} ${strings.units.s}` : `${Math.ceil(left / 60)} ${strings.units.min}`;
      return;
    }
    clearInterval(timer);
    waiting.textContent = strings.ready;
    for (const button of document.querySelectorAll('button[data-wait]')) button.disabled = false;
  };
  const timer = setInterval(tick, 1000);
}
