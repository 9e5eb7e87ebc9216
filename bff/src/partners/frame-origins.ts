/**
 * The origins a partner's pages are served from: the only pages that may frame the super component
 * (its `Content-Security-Policy: frame-ancestors`, issue 14 §4, decision 0010). Each is an exact
 * origin, `scheme://host[:port]`, kept in the form browsers compare (`URL.origin`: lower case,
 * punycode, no default port), so what an admin typed and what a browser sends compare as strings.
 */

/** Most origins one partner may register (each lands in the component's CSP header). */
export const MAX_FRAME_ORIGINS = 20;

const MAX_LENGTH = 255;
// scheme://authority and at most a trailing "/": no user info, path, query or fragment.
const SHAPE = /^https?:\/\/[^/?#@\\\s]+\/?$/i;
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export type FrameOriginCheck = { origin: string } | { reason: 'invalid_format' | 'insecure_scheme'; message: string };

/**
 * `raw` as a frame origin, or why it is not one. `allowHttp`: plain http for any host (a deployment
 * setting, PARTNER_FRAME_ORIGINS_ALLOW_HTTP); without it, http only for this machine (localhost,
 * 127.0.0.1, [::1]), where the demo bank and a partner's development pages run.
 */
export function checkFrameOrigin(raw: string, opts: { allowHttp: boolean }): FrameOriginCheck {
  const invalid = {
    reason: 'invalid_format',
    message: 'expected an origin: https://host or https://host:port, without path, query, fragment or wildcard',
  } as const;
  if (raw.length > MAX_LENGTH || !SHAPE.test(raw) || raw.includes('*')) return invalid;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return invalid;
  }
  const ipv6 = url.hostname.startsWith('[');
  if (!ipv6 && !HOSTNAME.test(url.hostname)) return invalid;
  if (url.protocol === 'http:' && !opts.allowHttp && !LOOPBACK.has(url.hostname)) {
    return { reason: 'insecure_scheme', message: 'http is allowed only for localhost, 127.0.0.1 and [::1]; use https' };
  }
  return { origin: url.origin };
}

/** The list in a stable form: each normalised by `checkFrameOrigin`, duplicates dropped, first kept. */
export const uniqueOrigins = (origins: readonly string[]): string[] => [...new Set(origins)];
