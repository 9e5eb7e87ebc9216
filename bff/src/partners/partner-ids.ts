/** Partner client ids and appKeys: what can travel in a URL path and a Keycloak client id unescaped. */
export const PARTNER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$/;
