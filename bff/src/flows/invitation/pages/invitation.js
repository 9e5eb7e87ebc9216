// The new-account form, sent as JSON (the BFF takes JSON bodies only, which keeps other sites' plain
// HTML forms from driving its endpoints). The answer, also a refusal's, names the page to go to next:
// the same form with its message, the link's page or the done page. A 5xx names none: then "try
// again" on this page.
for (const form of document.querySelectorAll('form[data-json]')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = Object.fromEntries([...new FormData(form).entries()].filter(([, value]) => value !== ''));
    for (const button of form.querySelectorAll('button')) button.disabled = true;
    let location;
    try {
      const res = await fetch(form.action, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = await res.json().catch(() => ({}));
      if (typeof answer.location === 'string') location = answer.location;
    } catch {
      // Network: below.
    }
    if (!location) {
      const url = new URL(window.location.href);
      url.searchParams.set('error', 'unavailable');
      location = url.pathname + url.search;
    }
    window.location.assign(location);
  });
}
