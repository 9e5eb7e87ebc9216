import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { AddressSet } from '../kernel/ip-ranges.ts';
import { clientAddress, clientAddressMiddleware } from './client-address.ts';

const none = new AddressSet([]);
const proxies = new AddressSet(['10.0.0.0/8', '192.0.2.1']);

describe('clientAddress', () => {
  it('without trusted proxies is the TCP peer: X-Forwarded-For is ignored', () => {
    expect(clientAddress('203.0.113.5', '198.51.100.1', none)).toBe('203.0.113.5');
    expect(clientAddress('::ffff:203.0.113.5', undefined, none)).toBe('203.0.113.5');
  });

  it('from a peer that is not a trusted proxy is that peer, whatever X-Forwarded-For says', () => {
    expect(clientAddress('203.0.113.5', '10.0.0.1, 198.51.100.1', proxies)).toBe('203.0.113.5');
  });

  it('through trusted proxies is the first untrusted address from the right; what the client wrote to its left is never believed', () => {
    expect(clientAddress('192.0.2.1', '198.51.100.7', proxies)).toBe('198.51.100.7');
    // The client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended the address it saw.
    expect(clientAddress('192.0.2.1', '1.1.1.1, 198.51.100.7', proxies)).toBe('198.51.100.7');
    // Two proxies in a row: both skipped.
    expect(clientAddress('10.0.0.2', '1.1.1.1, 198.51.100.7, 10.0.0.9', proxies)).toBe('198.51.100.7');
    // A client claiming to be a proxy gains nothing: the hop right of it is what counts.
    expect(clientAddress('192.0.2.1', '10.9.9.9, 198.51.100.7', proxies)).toBe('198.51.100.7');
  });

  it('takes the leftmost hop when every hop is a trusted proxy, and stops at a hop that is not an address', () => {
    expect(clientAddress('10.0.0.2', '10.0.0.3, 10.0.0.4', proxies)).toBe('10.0.0.3');
    expect(clientAddress('10.0.0.2', '198.51.100.7, garbage, 10.0.0.4', proxies)).toBe('10.0.0.4');
    expect(clientAddress('10.0.0.2', 'garbage', proxies)).toBe('10.0.0.2');
    expect(clientAddress('10.0.0.2', undefined, proxies)).toBe('10.0.0.2');
    expect(clientAddress('192.0.2.1', '[2001:db8::7]:1234', proxies)).toBe('2001:db8::7');
  });
});

describe('clientAddressMiddleware', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  /** A Koa app on 127.0.0.1 answering what it saw: ctx.ip, ctx.protocol and the forwarding headers. */
  async function serve(trusted: AddressSet): Promise<string> {
    const app = new Koa();
    app.proxy = trusted.size > 0;
    app.use(clientAddressMiddleware(trusted));
    app.use((ctx) => {
      ctx.body = { ip: ctx.ip, protocol: ctx.protocol, forwardedFor: ctx.get('x-forwarded-for') || null };
    });
    const server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    close = () => new Promise((resolve) => server.close(() => resolve()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const seen = async (url: string, headers: Record<string, string>) => (await (await fetch(url, { headers })).json()) as Record<string, unknown>;

  it('ignores and drops X-Forwarded-* from a peer that is not trusted', async () => {
    const url = await serve(new AddressSet(['10.0.0.1']));
    expect(await seen(url, { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' })).toEqual({
      ip: '127.0.0.1',
      protocol: 'http',
      forwardedFor: null,
    });
  });

  it('believes a trusted proxy: the client address, and Koa its X-Forwarded-Proto', async () => {
    const url = await serve(new AddressSet(['127.0.0.1']));
    expect(await seen(url, { 'x-forwarded-for': '6.6.6.6, 198.51.100.7', 'x-forwarded-proto': 'https' })).toMatchObject({
      ip: '198.51.100.7',
      protocol: 'https',
    });
  });
});
