import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LANGUAGES } from '../kernel/languages.ts';
import { html } from './html.ts';
import { LANGUAGE_NAMES, page, pageLanguage, productName, sendPage } from './pages.ts';

describe('pageLanguage', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const app = new Koa();
    app.use((ctx) => {
      const lang = pageLanguage(ctx);
      sendPage(ctx, page({ lang, title: 'T', card: { id: 'c' }, body: html`` }));
    });
    server = createServer(app.callback()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const langOf = async (query: string, acceptLanguage?: string) => {
    const res = await fetch(`${base}/${query}`, { headers: acceptLanguage ? { 'accept-language': acceptLanguage } : {} });
    const body = await res.text();
    return { lang: /<html lang="([^"]*)"/.exec(body)?.[1], res };
  };

  it('takes ?lang= when it names one of ours, else the browser preference, else English', async () => {
    expect((await langOf('?lang=hi', 'en')).lang).toBe('hi');
    expect((await langOf('?lang=en', 'hi')).lang).toBe('en');
    expect((await langOf('', 'hi-IN,hi;q=0.9,en;q=0.8')).lang).toBe('hi');
    expect((await langOf('', 'fr, de;q=0.5')).lang).toBe('en');
    expect((await langOf('')).lang).toBe('en');
    // Not ours, or not one value: as if absent.
    expect((await langOf('?lang=fr', 'hi')).lang).toBe('hi');
    expect((await langOf('?lang=hi&lang=en', 'en')).lang).toBe('en');
    expect((await langOf('?lang=%22%3E', 'en')).lang).toBe('en');
  });

  it('answers an HTML page that varies on Accept-Language', async () => {
    const { res } = await langOf('?lang=hi');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('vary')).toMatch(/accept-language/i);
  });
});

describe('page', () => {
  it('is the one shell: the theme files, the product name in the language, the heading as title', () => {
    for (const lang of LANGUAGES) {
      const out = page({ lang, title: 'Heading', card: { id: 'card' }, body: html`<p id="content">x</p>` });
      expect(out.startsWith('<!DOCTYPE html>\n<html lang="' + lang + '" dir="ltr">')).toBe(true);
      expect(out).toContain(`<title>Heading · ${productName(lang)}</title>`);
      expect(out).toContain(`<header class="brand"><img src="/assets/logo.svg" alt="" width="44" height="44"><span>${productName(lang)}</span></header>`);
      expect([...out.matchAll(/<link rel="stylesheet" href="([^"]+)">/g)].map((m) => m[1])).toEqual(['/assets/brand.css', '/assets/pages.css']);
      expect(out).toContain('<h1 id="title" tabindex="-1">Heading</h1>');
      expect(out).toContain('<main class="card" id="card">');
      expect(out).toContain('<p id="content">x</p>');
      // Nothing the CSP would refuse: no inline script or style, no picker or noscript unless asked for.
      expect(out).not.toMatch(/<script|<style|\son[a-z]+=|style=|<nav|<noscript/);
    }
    expect(productName('en')).toBe('Identity Platform');
    expect(productName('hi')).toBe('पहचान प्लेटफ़ॉर्म');
  });

  it('adds the page own files after the theme, its card attributes, its noscript text and its script data', () => {
    const out = page({
      lang: 'en',
      title: 'T',
      card: { id: 'flow', stack: true, data: { step: 'code', outcome: 'ok' } },
      styles: ['own.css'],
      scripts: ['own.js'],
      noScript: 'Turn scripts on',
      body: html``,
      strings: { greeting: 'hi' },
    });
    expect([...out.matchAll(/<link rel="stylesheet" href="([^"]+)">/g)].map((m) => m[1])).toEqual([
      '/assets/brand.css',
      '/assets/pages.css',
      '/assets/own.css',
    ]);
    expect([...out.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!.trim())).toEqual([
      'type="module" src="/assets/own.js"',
      'type="application/json" id="strings"',
    ]);
    expect(out).toContain('<main class="card stack" id="flow" data-step="code" data-outcome="ok">');
    expect(out).toContain('<noscript><p class="alert">Turn scripts on</p></noscript>');
    expect(out).toContain('<script type="application/json" id="strings">{"greeting":"hi"}</script>');
  });

  it('escapes what a page gives it: texts, attributes and script data cannot break out', () => {
    const evil = '"><script>alert(1)</script>';
    const out = page({
      lang: 'en',
      title: evil,
      card: { id: evil, data: { step: evil } },
      languageHref: () => `/p?x=${evil}`,
      noScript: evil,
      body: html`<p>${evil}</p>`,
      strings: { text: '</script><script>alert(1)</script>' },
    });
    expect(out).not.toContain('<script>alert(1)');
    expect(out).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    const data = /<script type="application\/json" id="strings">(.*?)<\/script>/.exec(out)?.[1];
    expect(JSON.parse(data!)).toEqual({ text: '</script><script>alert(1)</script>' });
  });

  it('offers every language by its own name, this one marked current, each link to this page in it', () => {
    const out = page({ lang: 'hi', title: 'T', card: { id: 'c' }, body: html``, languageHref: (l) => `/page?lang=${l}&a=1` });
    const nav = /<nav class="languages" id="languages" aria-label="([^"]+)">(.*?)<\/nav>/.exec(out);
    expect(nav?.[1]).toBe('भाषा');
    const links = [...nav![2]!.matchAll(/<a ([^>]*)>([^<]*)<\/a>/g)].map((m) => [m[1], m[2]]);
    expect(links).toEqual(
      LANGUAGES.map((l) => [
        l === 'hi' ? `href="/page?lang=${l}&amp;a=1" lang="${l}" aria-current="true"` : `href="/page?lang=${l}&amp;a=1" lang="${l}" hreflang="${l}"`,
        LANGUAGE_NAMES[l],
      ]),
    );
    expect(LANGUAGE_NAMES).toEqual({ en: 'English', hi: 'हिन्दी' });
  });
});
