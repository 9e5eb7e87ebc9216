// keycloak-js' silent check-sso: Keycloak redirects this hidden iframe here with the answer (a code
// or login_required), and the portal page reads it from the message. Same origin only.
parent.postMessage(location.href, location.origin);
