/**
 * Server-rendered HTML of the BFF's pages: one escaping template tag. Their security headers (a strict
 * CSP, no framing) come from `security-headers.ts`, for every response.
 */

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Markup that `html` inserts as it is (everything else is escaped). */
export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
}

/** A tagged template that escapes every interpolation except nested `html` results. */
export function html(strings: TemplateStringsArray, ...values: (string | Html | Html[])[]): Html {
  const render = (v: string | Html | Html[]): string =>
    Array.isArray(v) ? v.map(render).join('') : v instanceof Html ? v.value : escapeHtml(v);
  return new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i]!) : ''), ''));
}
