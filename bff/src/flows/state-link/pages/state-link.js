// The code page's forms, sent as JSON (the BFF takes JSON bodies only, which keeps other sites' plain
// HTML forms from driving its endpoints). The answer names where to go next: Keycloak's continue URL
// once signed in, else this page again (it shows the flow's error). No answer: this page again.
for (const form of document.querySelectorAll('form[data-json]')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = Object.fromEntries(new FormData(form).entries());
    for (const button of document.querySelectorAll('button')) button.disabled = true;
    let location = window.location.pathname + window.location.search;
    try {
      const res = await fetch(form.action, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = await res.json().catch(() => ({}));
      if (typeof answer.location === 'string') location = answer.location;
    } catch {
      // this page again
    }
    window.location.assign(location);
  });
}
