import { h } from './dom.ts';
import { LANGUAGES, MESSAGES, type Language, type Messages } from './messages.ts';

/** What a screen opens with in its alert (errors) and notice (confirmations) lines. */
export interface Notes {
  alert?: string;
  notice?: string;
}

export interface CardHeader extends Notes {
  title: string;
  m: Messages;
  lang: Language;
  setLanguage: (next: Language) => void;
}

/**
 * The card of every screen of the portal and the super component: the title (focused when the
 * screen changes, for screen readers), the language switch, the alert and notice lines, the content.
 */
export function card(header: CardHeader, ...content: (Node | false | null)[]): { card: HTMLElement; heading: HTMLHeadingElement } {
  const { title, m, lang, setLanguage } = header;
  const heading = h('h1', { id: 'title', tabindex: '-1' }, title);
  const languages = h(
    'nav',
    { class: 'languages', 'aria-label': m.languages },
    LANGUAGES.map((l) =>
      h(
        'button',
        { type: 'button', class: 'link', lang: l, 'aria-pressed': String(l === lang), onclick: () => l !== lang && setLanguage(l) },
        MESSAGES[l].languageName,
      ),
    ),
  );
  return {
    heading,
    card: h(
      'main',
      { class: 'card' },
      h('div', { class: 'card-header' }, heading, languages),
      // Focusable (not in the tab order): a problem with no field of its own moves the focus here.
      h('div', { id: 'alert', class: 'alert', role: 'alert', tabindex: '-1', hidden: !header.alert }, header.alert ?? ''),
      h('p', { id: 'notice', class: 'notice', role: 'status', hidden: !header.notice }, header.notice ?? ''),
      ...content,
    ),
  };
}

/** Replaces the text of the card's alert or notice line; an empty line is hidden. */
export function say(kind: 'alert' | 'notice', text: string | undefined): HTMLElement | null {
  const el = document.getElementById(kind);
  if (!el) return null;
  el.textContent = text ?? '';
  el.hidden = !text;
  return el;
}
