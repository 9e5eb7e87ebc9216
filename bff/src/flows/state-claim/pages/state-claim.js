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
      else {
        const url = new URL(window.location.href);
        url.searchParams.set('error', res.status === 409 ? 'busy' : 'unavailable');
        location = url.pathname + url.search;
      }
    } catch {
      const url = new URL(window.location.href);
      url.searchParams.set('error', 'unavailable');
      location = url.pathname + url.search;
    }
    window.location.assign(location);
  });
}
