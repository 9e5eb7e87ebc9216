/**
 * Server-rendered HTML of the BFF's pages: one escaping template tag, and JSON for a page's script.
 * The page shell, the language and the picker are `pages.ts`; the security headers (a strict CSP, no
 * framing) come from `security-headers.ts`, for every response.
 */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Markup that `html` inserts as it is (everything else is escaped). */
export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
}

/** A tagged template that escapes every interpolation except nested `html` results. */
export function html(strings: TemplateStringsArray, ...values: (string | Html | Html[])[]): Html {
  const render = (v: string | Html | Html[]): string => (Array.isArray(v) ? v.map(render).join('') : v instanceof Html ? v.value : escapeHtml(v));
  return new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i]!) : ''), ''));
}

/**
 * `value` as the content of a `<script type="application/json">` block (data for a page's script: not
 * run, so the CSP allows it). `<` is escaped so that no string in it can close the element.
 */
export function json(value: unknown): Html {
  return new Html(JSON.stringify(value).replace(/</g, '\\u003c'));
}
