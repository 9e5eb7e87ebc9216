import { maskIdentifier } from '../../accounts/identifiers.ts';
import { html } from '../../http/html.ts';
import { page } from '../../http/pages.ts';
import type { Asset } from '../../http/static-assets.ts';
import type { Language } from '../../kernel/languages.ts';
import type { StateLinkRefusal } from './link-verifier.ts';
import type { Refusal, StepError } from './state-link.machine.ts';

/**
 * The state link's pages on the page kit (http/pages.ts), in English and Hindi: the code to the
 * link's phone, and every refusal (the link's, the account's, a sign-in that cannot continue). Texts
 * are chosen by reason, never taken from an error's message.
 */
export type RefusedReason = StateLinkRefusal | Refusal | 'cannot-continue' | 'unavailable';

type Texts = {
  noScript: string;
  codeTitle: string;
  codeLead: (masked: string) => string;
  code: string;
  codeHint: string;
  verify: string;
  resend: string;
  errors: Record<StepError, string>;
  wait: (seconds: number) => string;
  refusedTitle: Record<'link' | 'account' | 'later', string>;
  refused: Record<RefusedReason, string>;
  back: string;
};

const TEXT: Record<Language, Texts> = {
  en: {
    noScript: 'This page needs JavaScript; turn it on and reload.',
    codeTitle: 'Enter the code',
    codeLead: (masked) => `To sign you in with your state account, we sent a 6-digit code to ${masked}.`,
    code: 'Code',
    codeHint: 'The code is valid for a few minutes.',
    verify: 'Verify and sign in',
    resend: 'Send a new code',
    errors: {
      'code-invalid': 'The code is wrong or has expired. Check it, or ask for a new one.',
      'rate-limited': 'Too many tries, or a new code asked for too soon. Wait a while before you try again.',
      'delivery-failed': 'We could not send the code. Try again in a moment.',
      taken: 'This mobile number already belongs to another account, so we cannot use it here.',
      unavailable: 'Something went wrong on our side. Try again in a moment.',
    },
    wait: (seconds) => `Try again in ${Math.max(1, Math.ceil(seconds / 60))} min.`,
    refusedTitle: { link: 'This sign-in link cannot be used', account: 'We cannot sign you in', later: 'Try again later' },
    refused: {
      malformed: 'This sign-in link is damaged. Open it again from your state portal.',
      'unknown-issuer': 'This sign-in link was not made by a state portal we know. Open it again from your state portal.',
      signature: 'This sign-in link is not genuine: its signature does not check out. Open it again from your state portal.',
      audience: 'This sign-in link was made for another service. Open it again from your state portal.',
      expired: 'This sign-in link has expired. Open it again from your state portal.',
      'too-old': 'This sign-in link is too old. Open it again from your state portal.',
      'not-yet-valid': 'This sign-in link is not valid yet. Check the clock of your device, then open it again from your state portal.',
      claims: 'This sign-in link does not say who you are in a way we can use. Contact your state portal.',
      tenant: 'This sign-in link belongs to another state. Open it again from your own state portal.',
      replayed: 'This sign-in link was already used. Each link works once: open a new one from your state portal.',
      'keys-unavailable': 'We could not check this sign-in link right now. Try again in a moment.',
      closed: 'Your account here is closed. Contact the help desk of your state.',
      elsewhere: 'Your mobile number belongs to an account of another state, so we cannot sign you in with it. Contact the help desk.',
      mismatch: 'Your mobile number belongs to another person of your state here. Contact the help desk of your state.',
      'no-claim': 'Your mobile number belongs to an existing account. Sign in to it with its password.',
      'cannot-continue': 'This sign-in cannot continue: it has expired, or it was opened in another browser. Open the link from your state portal again.',
      unavailable: 'Something went wrong on our side. Open the link from your state portal again in a moment.',
    },
    back: 'Go to the portal',
  },
  hi: {
    noScript: 'इस पेज के लिए JavaScript आवश्यक है; इसे चालू करें और पेज फिर से लोड करें।',
    codeTitle: 'कोड दर्ज करें',
    codeLead: (masked) => `आपको आपके राज्य खाते से साइन इन कराने के लिए हमने ${masked} पर 6 अंकों का कोड भेजा है।`,
    code: 'कोड',
    codeHint: 'कोड कुछ मिनट तक मान्य है।',
    verify: 'सत्यापित करें और साइन इन करें',
    resend: 'नया कोड भेजें',
    errors: {
      'code-invalid': 'कोड गलत है या उसकी समय सीमा समाप्त हो गई है। इसे जाँचें, या नया कोड मँगाएँ।',
      'rate-limited': 'बहुत अधिक प्रयास हो गए, या नया कोड बहुत जल्दी माँगा गया। फिर से प्रयास करने से पहले कुछ देर प्रतीक्षा करें।',
      'delivery-failed': 'हम कोड नहीं भेज सके। थोड़ी देर में फिर से प्रयास करें।',
      taken: 'यह मोबाइल नंबर पहले से किसी दूसरे खाते का है, इसलिए हम इसे यहाँ उपयोग नहीं कर सकते।',
      unavailable: 'हमारी ओर से कुछ गड़बड़ हो गई। थोड़ी देर में फिर से प्रयास करें।',
    },
    wait: (seconds) => `${Math.max(1, Math.ceil(seconds / 60))} मिनट बाद फिर से प्रयास करें।`,
    refusedTitle: { link: 'इस साइन-इन लिंक का उपयोग नहीं किया जा सकता', account: 'हम आपको साइन इन नहीं करा सकते', later: 'बाद में फिर से प्रयास करें' },
    refused: {
      malformed: 'यह साइन-इन लिंक खराब है। इसे अपने राज्य पोर्टल से फिर से खोलें।',
      'unknown-issuer': 'यह साइन-इन लिंक किसी ऐसे राज्य पोर्टल ने नहीं बनाया है जिसे हम जानते हैं। इसे अपने राज्य पोर्टल से फिर से खोलें।',
      signature: 'यह साइन-इन लिंक असली नहीं है: इसके हस्ताक्षर की पुष्टि नहीं होती। इसे अपने राज्य पोर्टल से फिर से खोलें।',
      audience: 'यह साइन-इन लिंक किसी दूसरी सेवा के लिए बनाया गया था। इसे अपने राज्य पोर्टल से फिर से खोलें।',
      expired: 'इस साइन-इन लिंक की समय सीमा समाप्त हो गई है। इसे अपने राज्य पोर्टल से फिर से खोलें।',
      'too-old': 'यह साइन-इन लिंक बहुत पुराना है। इसे अपने राज्य पोर्टल से फिर से खोलें।',
      'not-yet-valid': 'यह साइन-इन लिंक अभी मान्य नहीं है। अपने उपकरण की घड़ी जाँचें, फिर इसे अपने राज्य पोर्टल से फिर से खोलें।',
      claims: 'यह साइन-इन लिंक यह ऐसे नहीं बताता कि आप कौन हैं जिसका हम उपयोग कर सकें। अपने राज्य पोर्टल से संपर्क करें।',
      tenant: 'यह साइन-इन लिंक किसी दूसरे राज्य का है। इसे अपने राज्य पोर्टल से फिर से खोलें।',
      replayed: 'इस साइन-इन लिंक का उपयोग पहले ही हो चुका है। हर लिंक एक ही बार काम करता है: अपने राज्य पोर्टल से नया लिंक खोलें।',
      'keys-unavailable': 'हम अभी इस साइन-इन लिंक की जाँच नहीं कर सके। थोड़ी देर में फिर से प्रयास करें।',
      closed: 'यहाँ आपका खाता बंद है। अपने राज्य की सहायता डेस्क से संपर्क करें।',
      elsewhere: 'आपका मोबाइल नंबर किसी दूसरे राज्य के खाते का है, इसलिए हम आपको इससे साइन इन नहीं करा सकते। सहायता डेस्क से संपर्क करें।',
      mismatch: 'आपका मोबाइल नंबर यहाँ आपके राज्य के किसी दूसरे व्यक्ति का है। अपने राज्य की सहायता डेस्क से संपर्क करें।',
      'no-claim': 'आपका मोबाइल नंबर पहले से मौजूद एक खाते का है। उसके पासवर्ड से उसमें साइन इन करें।',
      'cannot-continue': 'यह साइन-इन आगे नहीं बढ़ सकता: इसकी समय सीमा समाप्त हो गई है, या इसे किसी दूसरे ब्राउज़र में खोला गया था। अपने राज्य पोर्टल से लिंक फिर से खोलें।',
      unavailable: 'हमारी ओर से कुछ गड़बड़ हो गई। थोड़ी देर बाद अपने राज्य पोर्टल से लिंक फिर से खोलें।',
    },
    back: 'पोर्टल पर जाएँ',
  },
};

const LINK_REASONS = new Set<RefusedReason>([
  'malformed',
  'unknown-issuer',
  'signature',
  'audience',
  'expired',
  'too-old',
  'not-yet-valid',
  'claims',
  'tenant',
  'replayed',
]);

export function refusedPage(lang: Language, reason: RefusedReason, portalUrl: string): string {
  const t = TEXT[lang];
  const title = LINK_REASONS.has(reason)
    ? t.refusedTitle.link
    : reason === 'keys-unavailable' || reason === 'unavailable'
      ? t.refusedTitle.later
      : t.refusedTitle.account;
  return page({
    lang,
    title,
    card: { id: 'state-link-refused', stack: true, data: { reason } },
    body: html`<p class="alert" role="alert" id="reason">${t.refused[reason]}</p>
      <a class="button primary" id="to-portal" href="${portalUrl}">${t.back}</a>`,
  });
}

export function codePage(
  lang: Language,
  opts: { phone: string; error: StepError | null; retryAfterSeconds: number | null; languageHref: (lang: Language) => string },
): string {
  const t = TEXT[lang];
  const masked = maskIdentifier({ kind: 'phone', value: opts.phone });
  const error = opts.error
    ? html`<p class="alert" role="alert" id="error" data-error="${opts.error}">${t.errors[opts.error]}${
        opts.retryAfterSeconds ? ` ${t.wait(opts.retryAfterSeconds)}` : ''
      }</p>`
    : html``;
  return page({
    lang,
    title: t.codeTitle,
    card: { id: 'state-link-code', stack: true },
    languageHref: opts.languageHref,
    noScript: t.noScript,
    scripts: ['state-link.js'],
    body: html`${error}
      <p class="lead" id="lead">${t.codeLead(masked)}</p>
      <form method="post" action="/state-link/code" class="stack" data-json id="code-form">
        <div class="field">
          <label for="code">${t.code}</label>
          <input id="code" name="code" type="text" class="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required aria-describedby="code-hint"${
            opts.error === 'code-invalid' ? html` aria-invalid="true"` : html``
          }>
          <p class="hint" id="code-hint">${t.codeHint}</p>
        </div>
        <button type="submit" class="primary" id="verify">${t.verify}</button>
      </form>
      <div class="actions">
        <form method="post" action="/state-link/resend" class="inline" data-json id="resend-form">
          <button type="submit" class="link" id="resend">${t.resend}</button>
        </form>
      </div>`,
  });
}

export const stateLinkAssets: Record<string, Asset> = {
  'state-link.js': { file: new URL('pages/state-link.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
};
