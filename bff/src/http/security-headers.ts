import type { Context, Middleware } from 'koa';

/**
 * The security headers of every BFF response, set in one place once the route has run (issue 14 §4):
 *
 * - `Content-Security-Policy`: HTML pages get `PAGE_DIRECTIVES` (everything from our origin, nothing
 *   inline, no plugins, no framing); a page that needs more (the portal talks to Keycloak, the super
 *   component is framed by its partner) states only the directives it changes with `pagePolicy`.
 *   Every other response (JSON, problems, files) gets `default-src 'none'; frame-ancestors 'none'`:
 *   opened as a document, it can load and run nothing and cannot be framed.
 * - `X-Frame-Options: DENY` wherever `frame-ancestors` is `'none'` (`SAMEORIGIN` for `'self'`), for
 *   browsers that predate frame-ancestors; none where a page names other origins (no header can say that).
 * - `X-Content-Type-Options: nosniff`; `Referrer-Policy: no-referrer`: authTokens, flow ids and
 *   confirmation tokens travel in our URLs, and no page needs to tell another site where it came from.
 */
export type Directive = 'default-src' | 'script-src' | 'style-src' | 'img-src' | 'connect-src' | 'frame-src' | 'form-action' | 'frame-ancestors' | 'base-uri';

export type Directives = Partial<Record<Directive, readonly string[]>>;

export const PAGE_DIRECTIVES: Readonly<Record<Exclude<Directive, 'frame-src'>, readonly string[]>> = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'"],
  'connect-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
};

const serialise = (directives: Directives) =>
  Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');

/** The policy of the BFF's own HTML pages (sign-up, state claim, e-mail confirmation). */
export const PAGE_CSP = serialise(PAGE_DIRECTIVES);
const NON_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'";

const overrides = new WeakMap<Context, Directives>();

/**
 * This response is a page whose policy differs from PAGE_DIRECTIVES in the directives given (each
 * replaces the default's sources). An empty `frame-ancestors` list means `'none'`.
 */
export function pagePolicy(ctx: Context, directives: Directives): void {
  overrides.set(ctx, directives);
}

export function securityHeaders(): Middleware {
  return async (ctx, next) => {
    // After the route, and after problemMiddleware (inside) has turned any error into a body.
    await next();
    const own = overrides.get(ctx);
    let csp = NON_PAGE_CSP;
    let ancestors: readonly string[] = ["'none'"];
    if (own) {
      const frameAncestors = own['frame-ancestors'];
      ancestors = frameAncestors && frameAncestors.length > 0 ? frameAncestors : ["'none'"];
      csp = serialise({ ...PAGE_DIRECTIVES, ...own, 'frame-ancestors': ancestors });
    } else if (String(ctx.response.get('Content-Type')).startsWith('text/html')) {
      // A string test, not ctx.response.is(): this runs on every partner API call.
      csp = PAGE_CSP;
    }
    ctx.set('Content-Security-Policy', csp);
    const only = ancestors.length === 1 ? ancestors[0] : undefined;
    if (only === "'none'") ctx.set('X-Frame-Options', 'DENY');
    else if (only === "'self'") ctx.set('X-Frame-Options', 'SAMEORIGIN');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
  };
}
