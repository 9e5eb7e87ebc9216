import { TAB_ID_PATTERN } from './sign-in-tickets.ts';

/**
 * Where a sign-up goes back to. The login page's "Create an account" link passes Keycloak's
 * `loginRestartFlowUrl` as `return` (themes/platform/login/footer.ftl): the authorization request the
 * person came from. Decision 0005 (the page), decision 0027 (ending signed in).
 */
export interface KeycloakRealm {
  /** Keycloak's public base URL: the only place the page sends people back to. */
  keycloakUrl: string;
  realm: string;
}

/**
 * Only URLs into this realm on the configured Keycloak (the login page passes its restart URL,
 * relative to Keycloak). Anything else is refused (undefined), so the page can never send someone to
 * another site (open redirect).
 */
export function safeReturnUrl(raw: unknown, keycloakUrl: string, realm: string): string | undefined {
  if (typeof raw !== 'string' || raw === '' || raw.length > 2048) return undefined;
  const base = new URL(keycloakUrl);
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return undefined;
  }
  if (url.origin !== base.origin || !url.pathname.startsWith(`${realmPath(keycloakUrl, realm)}/`) || url.username || url.password) return undefined;
  return url.href;
}

/** The authentication session a restart URL resumes: what the sign-in ticket and the continue URL carry. */
export interface RestartTarget {
  clientId: string;
  tabId: string;
  /** Keycloak 26's encoded client request data (redirect URI, response type, state), passed through as is. */
  clientData?: string;
}

/** Keycloak's ids and encoded values: base64url-ish and client ids; bounded. */
const PARAM = /^[A-Za-z0-9._~:/@+=-]{1,1024}$/;

/**
 * The authentication session of a `return` that is the realm's `login-actions/restart` URL with a
 * `client_id` and a `tab_id`; undefined for any other URL (the account console, a malformed one).
 */
export function restartTargetOf(raw: unknown, deps: KeycloakRealm): RestartTarget | undefined {
  const href = safeReturnUrl(raw, deps.keycloakUrl, deps.realm);
  if (href === undefined) return undefined;
  const url = new URL(href);
  if (url.pathname !== `${realmPath(deps.keycloakUrl, deps.realm)}/login-actions/restart`) return undefined;
  const clientId = url.searchParams.get('client_id') ?? '';
  const tabId = url.searchParams.get('tab_id') ?? '';
  const clientData = url.searchParams.get('client_data');
  if (!PARAM.test(clientId) || !TAB_ID_PATTERN.test(tabId) || (clientData !== null && !PARAM.test(clientData))) return undefined;
  return { clientId, tabId, ...(clientData !== null ? { clientData } : {}) };
}

/**
 * Keycloak's sign-up continue endpoint (keycloak/providers, decision 0027) for a sign-in ticket: it
 * redeems the ticket and signs the new account into the authentication session of `target`.
 */
export function continueUrl(deps: KeycloakRealm, ticket: string, target: RestartTarget): string {
  const query = new URLSearchParams({
    ticket,
    client_id: target.clientId,
    tab_id: target.tabId,
    ...(target.clientData ? { client_data: target.clientData } : {}),
  });
  return `${new URL(deps.keycloakUrl).origin}${realmPath(deps.keycloakUrl, deps.realm)}/platform-sign-up/continue?${query.toString()}`;
}

/** `/realms/<realm>` under Keycloak's base path (`/auth/realms/...` when it has one). */
function realmPath(keycloakUrl: string, realm: string): string {
  return `${new URL(keycloakUrl).pathname.replace(/\/$/, '')}/realms/${encodeURIComponent(realm)}`;
}
