import type { Context, Next } from 'koa';
import { canonicalAddress, type AddressSet } from '../kernel/ip-ranges.ts';

/** Headers only a reverse proxy may set; from anyone else they are dropped before any code reads them. */
const FORWARDING_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'forwarded'];

/**
 * The address of the client a request comes from: the one function every per-IP limit uses (through
 * `ctx.ip`, which `clientAddressMiddleware` sets).
 *
 * The TCP peer is the client unless it is one of the trusted proxies (TRUSTED_PROXIES). Then
 * X-Forwarded-For is read from the right (each proxy appends the address it saw): trusted hops are
 * skipped, and the first address that is not a trusted proxy is the client. Everything left of it was
 * written by the client and is never believed. When every hop is trusted, the leftmost one is the
 * client (it came from inside); a hop that is not an address ends the walk at the last good one.
 * Without trusted proxies X-Forwarded-For is ignored: anyone could write it.
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trusted: AddressSet): string {
  let client = canonicalAddress(peer) ?? peer;
  if (!trusted.has(client) || !forwardedFor) return client;
  const hops = forwardedFor.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = canonicalAddress(hops[i]!);
    if (hop === null) break;
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}

/**
 * Sets `ctx.ip` (Koa's `request.ip`) to `clientAddress`, and drops the X-Forwarded-* and Forwarded
 * headers of a request that does not come from a trusted proxy, so that Koa (`app.proxy` is on when
 * there are trusted proxies) honours X-Forwarded-Proto/Host only when a trusted proxy wrote them.
 */
export function clientAddressMiddleware(trusted: AddressSet) {
  return async (ctx: Context, next: Next) => {
    const peer = ctx.req.socket.remoteAddress ?? '';
    if (!trusted.has(peer)) {
      for (const name of FORWARDING_HEADERS) delete ctx.req.headers[name];
    }
    ctx.request.ip = clientAddress(peer, ctx.get('x-forwarded-for') || undefined, trusted);
    await next();
  };
}
