/**
 * A few DOM helpers instead of a framework: the portal has a handful of screens, each rebuilt from
 * state when it changes. Text always goes in as text nodes, never as HTML.
 */
type Child = Node | string | false | null | undefined;
type Attrs = Record<string, string | boolean | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) if (child !== false && child !== null && child !== undefined) el.append(child);
  return el;
}

/** A labelled input with its hint and its error line, tied together for screen readers. */
export function field(opts: {
  id: string;
  label: string;
  value?: string;
  type?: string;
  autocomplete?: string;
  hint?: string;
  required?: boolean;
  inputmode?: string;
}): HTMLDivElement {
  const describedBy = [opts.hint ? `${opts.id}-hint` : '', `${opts.id}-error`].filter(Boolean).join(' ');
  const input = h('input', {
    id: opts.id,
    name: opts.id,
    type: opts.type ?? 'text',
    autocomplete: opts.autocomplete ?? 'off',
    'aria-describedby': describedBy,
    required: opts.required,
    inputmode: opts.inputmode,
  });
  input.value = opts.value ?? '';
  return h(
    'div',
    { class: 'field', 'data-field': opts.id },
    h('label', { for: opts.id }, opts.label),
    input,
    opts.hint ? h('p', { class: 'hint', id: `${opts.id}-hint` }, opts.hint) : null,
    h('p', { class: 'error', id: `${opts.id}-error`, hidden: true }),
  );
}

/** Shows `message` under the input `id` (inside `root`) and marks the input invalid. */
export function showFieldError(root: ParentNode, id: string, message: string): boolean {
  const input = root.querySelector<HTMLInputElement>(`#${CSS.escape(id)}`);
  const error = root.querySelector<HTMLElement>(`#${CSS.escape(`${id}-error`)}`);
  if (!input || !error) return false;
  input.setAttribute('aria-invalid', 'true');
  error.textContent = message;
  error.hidden = false;
  return true;
}

export function clearFieldErrors(root: ParentNode): void {
  for (const input of root.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  for (const error of root.querySelectorAll<HTMLElement>('.error')) {
    error.hidden = true;
    error.textContent = '';
  }
}

/** Disables a form's controls while `work` runs, so a double click sends one request. */
export async function busy<T>(form: HTMLElement, work: () => Promise<T>): Promise<T> {
  const controls = [...form.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input')].filter((c) => !c.disabled);
  for (const c of controls) c.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    for (const c of controls) c.disabled = false;
    form.removeAttribute('aria-busy');
  }
}
