import { explain, Problem, SessionEnded } from './api.ts';
import { busy, h } from './dom.ts';
import type { Language } from './messages.ts';
import type { Shell } from './profile.ts';

/**
 * The profile picture section of the signed-in screen (decision 0038): the picture (or a line saying
 * there is none), a file chooser and "Upload", and "Remove". Uploads go to `PUT /api/v1/user/picture`
 * as the file itself; the BFF checks and re-encodes it. Its words are here, in both languages.
 */
const TEXT: Record<
  Language,
  {
    section: string;
    alt: string;
    none: string;
    choose: string;
    hint: string;
    upload: string;
    remove: string;
    uploaded: string;
    processing: string;
    removed: string;
    noFile: string;
    reasons: Record<string, string>;
  }
> = {
  en: {
    section: 'Profile picture',
    alt: 'Your profile picture',
    none: 'You have no profile picture yet.',
    choose: 'Choose a picture',
    hint: 'A PNG, JPEG, WebP or GIF image of at most 5 MB. It is cropped to a square; details stored in the file, such as where a photo was taken, are removed.',
    upload: 'Upload picture',
    remove: 'Remove picture',
    uploaded: 'Your new profile picture is saved.',
    processing: 'Your picture is being processed. It will appear here shortly.',
    removed: 'Your profile picture is removed.',
    noFile: 'Choose a picture first.',
    reasons: {
      unsupported_media_type: 'This file is not a PNG, JPEG, WebP or GIF image.',
      corrupt_image: 'This image cannot be read; it may be damaged. Try another file.',
      too_many_pixels: 'This image is too large in pixels. Choose a smaller one.',
      too_large: 'This file is larger than 5 MB. Choose a smaller one.',
    },
  },
  hi: {
    section: 'प्रोफ़ाइल फ़ोटो',
    alt: 'आपकी प्रोफ़ाइल फ़ोटो',
    none: 'आपकी अभी कोई प्रोफ़ाइल फ़ोटो नहीं है।',
    choose: 'फ़ोटो चुनें',
    hint: 'PNG, JPEG, WebP या GIF फ़ोटो, अधिकतम 5 MB। इसे वर्गाकार काटा जाता है; फ़ाइल में रखी जानकारी, जैसे फ़ोटो कहाँ ली गई, हटा दी जाती है।',
    upload: 'फ़ोटो अपलोड करें',
    remove: 'फ़ोटो हटाएँ',
    uploaded: 'आपकी नई प्रोफ़ाइल फ़ोटो सहेज ली गई है।',
    processing: 'आपकी फ़ोटो तैयार की जा रही है। यह थोड़ी देर में यहाँ दिखेगी।',
    removed: 'आपकी प्रोफ़ाइल फ़ोटो हटा दी गई है।',
    noFile: 'पहले एक फ़ोटो चुनें।',
    reasons: {
      unsupported_media_type: 'यह फ़ाइल PNG, JPEG, WebP या GIF फ़ोटो नहीं है।',
      corrupt_image: 'यह फ़ोटो पढ़ी नहीं जा सकती; शायद यह ख़राब है। कोई दूसरी फ़ाइल चुनें।',
      too_many_pixels: 'इस फ़ोटो में बहुत ज़्यादा पिक्सेल हैं। कोई छोटी फ़ोटो चुनें।',
      too_large: 'यह फ़ाइल 5 MB से बड़ी है। कोई छोटी फ़ाइल चुनें।',
    },
  },
};

type PictureState = { status: 'none' } | { status: 'ready'; url: string } | { status: 'processing'; url: string | null };

/** The last state read, kept across redraws (a language switch) so the section does not flicker. */
let known: PictureState | undefined;
let message: { kind: 'ok' | 'error'; key: string } | undefined;

export function pictureSection(shell: Shell): HTMLElement {
  const section = h('section', { 'aria-labelledby': 'picture-heading', id: 'picture-section' });
  const draw = () => render(shell, section, draw);
  draw();
  void shell.callApi<PictureState>('GET', '/api/v1/user/picture').then(
    (state) => {
      known = state;
      draw();
    },
    (err: unknown) => {
      if (err instanceof SessionEnded) shell.showSessionEnded();
    },
  );
  return section;
}

function render(shell: Shell, section: HTMLElement, draw: () => void): void {
  const t = TEXT[shell.lang()];
  const url = known && known.status !== 'none' ? known.url : null;
  const input = h('input', {
    id: 'picture-file',
    name: 'picture-file',
    type: 'file',
    accept: 'image/png,image/jpeg,image/webp,image/gif',
    'aria-describedby': 'picture-hint picture-message',
  });
  const line = (text: string) =>
    h('p', { id: 'picture-message', class: message?.kind === 'error' ? 'error' : 'hint', role: message?.kind === 'error' ? 'alert' : 'status' }, text);
  const explainMessage = () => {
    if (!message) return '';
    return t.reasons[message.key] ?? (t as unknown as Record<string, string>)[message.key] ?? message.key;
  };
  const act = async (work: () => Promise<void>) => {
    try {
      await busy(section, work);
    } catch (err) {
      if (err instanceof SessionEnded) return shell.showSessionEnded();
      const reason = err instanceof Problem ? (err.status === 413 ? 'too_large' : err.fields[0]?.reason) : undefined;
      message = { kind: 'error', key: reason && t.reasons[reason] ? reason : explain(err, shell.m()) };
    }
    draw();
    section.querySelector<HTMLElement>('#picture-message')?.focus();
  };
  const upload = () =>
    act(async () => {
      const file = input.files?.[0];
      if (!file) {
        message = { kind: 'error', key: 'noFile' };
        return;
      }
      known = await shell.callApi<PictureState>('PUT', '/api/v1/user/picture', file);
      message = { kind: 'ok', key: known.status === 'ready' ? 'uploaded' : 'processing' };
    });
  const remove = () =>
    act(async () => {
      await shell.callApi('DELETE', '/api/v1/user/picture');
      known = { status: 'none' };
      message = { kind: 'ok', key: 'removed' };
    });
  section.replaceChildren(
    h('h2', { id: 'picture-heading' }, t.section),
    h(
      'div',
      { class: 'picture-row' },
      url
        ? h('img', { id: 'picture-img', class: 'picture', src: url, alt: t.alt, width: '96', height: '96' })
        : h('p', { class: 'hint', id: 'picture-none' }, known?.status === 'processing' ? t.processing : t.none),
      h(
        'div',
        { class: 'field', 'data-field': 'picture-file' },
        h('label', { for: 'picture-file' }, t.choose),
        input,
        h('p', { class: 'hint', id: 'picture-hint' }, t.hint),
      ),
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'primary', id: 'picture-upload', onclick: () => void upload() }, t.upload),
      url ? h('button', { type: 'button', class: 'secondary', id: 'picture-remove', onclick: () => void remove() }, t.remove) : null,
    ),
    line(explainMessage()),
  );
  const messageEl = section.querySelector<HTMLElement>('#picture-message');
  if (messageEl) {
    messageEl.tabIndex = -1;
    messageEl.hidden = !message;
  }
}
