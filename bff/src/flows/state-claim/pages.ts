import { html, type Html } from '../../http/html.ts';
import { page } from '../../http/pages.ts';
import type { Language } from '../../kernel/languages.ts';
import type { StateClaimView } from './service.ts';
import type { StepError } from './state-claim.machine.ts';

/**
 * The claim flow's pages, server-rendered with the page kit (http/pages.ts) in each of the platform's
 * languages. Each form is sent as JSON by pages/state-claim.js; the answer names the next page: the
 * flow's page again, or, once the flow has decided, Keycloak's return URL with the handoff id.
 */
const TEXT = {
  en: {
    noScript: 'These pages need JavaScript; turn it on and reload.',
    needIdentifierTitle: 'Confirm your email or phone',
    needIdentifierLead: 'Your state account did not share an email address or phone number. Enter one; we will send you a code.',
    needAnotherLead: 'Enter another email address or mobile number; we will send you a code.',
    kind: 'Use',
    email: 'Email address',
    phone: 'Mobile number',
    value: 'Email address or mobile number',
    sendCode: 'Send code',
    codeTitle: 'Enter the code',
    codeLead: 'We sent a 6-digit code to',
    code: 'Code',
    verify: 'Verify',
    resend: 'Send a new code',
    change: 'Use another email or number',
    askTitle: 'Is this your account?',
    askLead: (masked: string) => `An account with ${masked} already exists. Is it yours?`,
    askHint:
      'If it is yours, you keep it (and everything in it) and sign in with your state account from now on. If not, you get a new account and the existing one is closed.',
    mine: 'Yes, it is mine',
    notMine: 'No, it is not mine',
    passwordTitle: 'Prove it is your account',
    passwordLead: (masked: string) => `Enter the password of the account with ${masked}.`,
    password: 'Password',
    otp: 'Code from your authenticator app',
    otpHint: 'This account is protected by an authenticator app: enter the 6-digit code it shows now.',
    confirm: 'Confirm',
    triesLeft: (n: number) => (n === 1 ? 'You have 1 try left; after that you get a new account instead.' : `You have ${n} tries.`),
    elsewhereTitle: 'This address belongs to another account',
    elsewhereLead: (masked: string) =>
      `${masked} is already used by another account on this platform, of another state or organisation. A sign-in through your state cannot take that account over, and an email address or mobile number can be on only one account.`,
    elsewhereHint:
      'If that account is yours, sign in to it the way you usually do. To go on here, use another email address or mobile number, or continue without one: you get a new account and can add one later.',
    useAnother: 'Use another email or number',
    continueWithout: 'Continue without it',
    closedTitle: 'An earlier account was closed',
    closedLead: (masked: string) => `An account with ${masked} exists but was closed. A closed account cannot be signed in to or claimed.`,
    closedHint: (masked: string) =>
      `If you continue, you get a new account with ${masked}; the closed account stays closed and no longer has this address. To get the closed account back instead, contact support.`,
    continueNew: 'Continue with a new account',
    doneTitle: 'Signed in',
    doneLead: 'This sign-in is finished. You can close this page.',
    goneTitle: 'This sign-in cannot continue',
    goneLead: 'It expired or was already finished. Start again from the sign-in page.',
    errors: {
      'code-invalid': 'The code is wrong or has expired; check it or ask for a new one.',
      'rate-limited': 'Too many attempts. Wait a while and try again.',
      'delivery-failed': 'We could not send the code. Check the address or number and try again.',
      'password-wrong': 'That password is not right.',
      'password-or-code-wrong': 'That password or code is not right.',
      'code-required': 'Enter the 6-digit code from your authenticator app as well.',
      unavailable: 'Something did not answer just now. Nothing was lost: try again.',
      identifier: 'Enter a valid email address or mobile number.',
      busy: 'This step is already being processed. Reload the page.',
    } as Record<StepError | 'password-or-code-wrong' | 'identifier' | 'busy', string>,
  },
  hi: {
    noScript: 'इन पेजों के लिए JavaScript आवश्यक है; इसे चालू करके पेज फिर से लोड करें।',
    needIdentifierTitle: 'अपना ईमेल या फ़ोन पुष्टि करें',
    needIdentifierLead: 'आपके राज्य खाते ने कोई ईमेल पता या फ़ोन नंबर साझा नहीं किया। एक दर्ज करें; हम आपको एक कोड भेजेंगे।',
    needAnotherLead: 'कोई दूसरा ईमेल पता या मोबाइल नंबर दर्ज करें; हम आपको एक कोड भेजेंगे।',
    kind: 'उपयोग करें',
    email: 'ईमेल पता',
    phone: 'मोबाइल नंबर',
    value: 'ईमेल पता या मोबाइल नंबर',
    sendCode: 'कोड भेजें',
    codeTitle: 'कोड दर्ज करें',
    codeLead: 'हमने 6 अंकों का कोड भेजा है:',
    code: 'कोड',
    verify: 'पुष्टि करें',
    resend: 'नया कोड भेजें',
    change: 'कोई दूसरा ईमेल या नंबर उपयोग करें',
    askTitle: 'क्या यह आपका खाता है?',
    askLead: (masked: string) => `${masked} वाला एक खाता पहले से मौजूद है। क्या यह आपका है?`,
    askHint: 'अगर यह आपका है, तो आप इसे (और इसमें सब कुछ) रखेंगे और अब से अपने राज्य खाते से साइन इन करेंगे। अगर नहीं, तो आपको नया खाता मिलेगा और मौजूदा खाता बंद कर दिया जाएगा।',
    mine: 'हाँ, यह मेरा है',
    notMine: 'नहीं, यह मेरा नहीं है',
    passwordTitle: 'साबित करें कि यह आपका खाता है',
    passwordLead: (masked: string) => `${masked} वाले खाते का पासवर्ड दर्ज करें।`,
    password: 'पासवर्ड',
    otp: 'आपके ऑथेंटिकेटर ऐप का कोड',
    otpHint: 'यह खाता ऑथेंटिकेटर ऐप से सुरक्षित है: ऐप में अभी दिख रहा 6 अंकों का कोड दर्ज करें।',
    confirm: 'पुष्टि करें',
    triesLeft: (n: number) => (n === 1 ? 'आपके पास 1 प्रयास बचा है; उसके बाद आपको नया खाता मिलेगा।' : `आपके पास ${n} प्रयास हैं।`),
    elsewhereTitle: 'यह पता किसी दूसरे खाते का है',
    elsewhereLead: (masked: string) =>
      `${masked} इस प्लेटफ़ॉर्म पर किसी दूसरे राज्य या संगठन के खाते में पहले से उपयोग में है। आपके राज्य से साइन-इन उस खाते को नहीं ले सकता, और एक ईमेल पता या मोबाइल नंबर केवल एक ही खाते पर हो सकता है।`,
    elsewhereHint:
      'अगर वह खाता आपका है, तो उसमें सामान्य तरीके से साइन इन करें। यहाँ आगे बढ़ने के लिए कोई दूसरा ईमेल पता या मोबाइल नंबर उपयोग करें, या उसके बिना जारी रखें: आपको एक नया खाता मिलेगा और आप बाद में एक जोड़ सकते हैं।',
    useAnother: 'कोई दूसरा ईमेल या नंबर उपयोग करें',
    continueWithout: 'इसके बिना जारी रखें',
    closedTitle: 'एक पुराना खाता बंद किया गया था',
    closedLead: (masked: string) =>
      `${masked} वाला एक खाता मौजूद है लेकिन बंद कर दिया गया था। बंद खाते में साइन इन नहीं किया जा सकता और न ही उस पर दावा किया जा सकता है।`,
    closedHint: (masked: string) =>
      `अगर आप जारी रखते हैं, तो आपको ${masked} के साथ एक नया खाता मिलेगा; बंद खाता बंद ही रहेगा और उस पर यह पता नहीं रहेगा। इसके बजाय बंद खाता वापस पाने के लिए सहायता से संपर्क करें।`,
    continueNew: 'नए खाते के साथ जारी रखें',
    doneTitle: 'साइन इन हो गया',
    doneLead: 'यह साइन-इन पूरा हो गया है। आप यह पेज बंद कर सकते हैं।',
    goneTitle: 'यह साइन-इन आगे नहीं बढ़ सकता',
    goneLead: 'इसकी अवधि समाप्त हो गई या यह पहले ही पूरा हो चुका है। साइन-इन पेज से फिर से शुरू करें।',
    errors: {
      'code-invalid': 'कोड गलत है या उसकी अवधि समाप्त हो गई है; जाँचें या नया कोड माँगें।',
      'rate-limited': 'बहुत अधिक प्रयास। कुछ देर रुककर फिर से प्रयास करें।',
      'delivery-failed': 'हम कोड नहीं भेज सके। पता या नंबर जाँचें और फिर से प्रयास करें।',
      'password-wrong': 'यह पासवर्ड सही नहीं है।',
      'password-or-code-wrong': 'यह पासवर्ड या कोड सही नहीं है।',
      'code-required': 'अपने ऑथेंटिकेटर ऐप का 6 अंकों का कोड भी दर्ज करें।',
      unavailable: 'अभी कुछ ने जवाब नहीं दिया। कुछ भी खोया नहीं है: फिर से प्रयास करें।',
      identifier: 'एक मान्य ईमेल पता या मोबाइल नंबर दर्ज करें।',
      busy: 'यह चरण पहले से संसाधित हो रहा है। पेज फिर से लोड करें।',
    } as Record<StepError | 'password-or-code-wrong' | 'identifier' | 'busy', string>,
  },
} satisfies Record<Language, unknown>;

function layout(lang: Language, flowId: string, title: string, step: string, body: Html): string {
  return page({
    lang,
    title,
    card: { id: 'state-claim', stack: true, data: { step } },
    // A gone flow has no page to switch the language of.
    languageHref: flowId ? (l) => `/state-claim/${flowId}?lang=${l}` : undefined,
    noScript: TEXT[lang].noScript,
    scripts: ['state-claim.js'],
    body,
  });
}

function alert(lang: Language, error: string | null): Html {
  if (!error) return html``;
  const text = TEXT[lang].errors[error as keyof (typeof TEXT)['en']['errors']] ?? TEXT[lang].errors.unavailable;
  return html`<div class="alert" role="alert" id="error" data-error="${error}">${text}</div>`;
}

function field(name: string, label: string, type: string, extra: Html = html``): Html {
  return html`
      <div class="field">
        <label for="${name}">${label}</label>
        <input id="${name}" name="${name}" type="${type}" required${extra}>
      </div>`;
}

const form = (flowId: string, action: string, lang: Language, body: Html) =>
  html`<form method="post" action="/state-claim/${flowId}/${action}?lang=${lang}" class="stack" data-json>${body}</form>`;

/** The page of the flow's current step; `error` overrides the context's (e.g. a bad identifier). */
export function renderStep(view: StateClaimView, lang: Language, opts: { error?: string | null } = {}): string {
  const t = TEXT[lang];
  const c = view.snapshot.context;
  const error = opts.error !== undefined ? opts.error : c.error;
  const id = view.id;
  if (view.snapshot.matches('needIdentifier')) {
    // Back here from "use another" (the first one is held elsewhere or by a closed account).
    return layout(
      lang,
      id,
      t.needIdentifierTitle,
      'identifier',
      html`
      <p class="lead">${c.identifier ? t.needAnotherLead : t.needIdentifierLead}</p>
      ${alert(lang, error)}
      ${form(
        id,
        'identifier',
        lang,
        html`
        ${field('identifier', t.value, 'text', html` autocomplete="email" autocapitalize="none" spellcheck="false"`)}
        <button type="submit" class="primary" id="send-code">${t.sendCode}</button>`,
      )}`,
    );
  }
  if (view.snapshot.matches('codeSent')) {
    return layout(
      lang,
      id,
      t.codeTitle,
      'code',
      html`
      <p class="lead">${t.codeLead} <strong id="sent-to">${c.pending?.masked ?? ''}</strong></p>
      ${alert(lang, error)}
      ${form(
        id,
        'code',
        lang,
        html`
        ${field('code', t.code, 'text', html` inputmode="numeric" maxlength="6" autocomplete="one-time-code"`)}
        <button type="submit" class="primary" id="verify">${t.verify}</button>`,
      )}
      ${form(id, 'resend', lang, html`<button type="submit" class="link" id="resend">${t.resend}</button>`)}
      ${form(id, 'change', lang, html`<button type="submit" class="link" id="change">${t.change}</button>`)}`,
    );
  }
  if (view.snapshot.matches('askOwnership')) {
    return layout(
      lang,
      id,
      t.askTitle,
      'ask',
      html`
      <p class="lead" id="ask">${t.askLead(c.identifier?.masked ?? '')}</p>
      <p class="hint">${t.askHint}</p>
      ${alert(lang, error)}
      ${form(
        id,
        'answer',
        lang,
        html`
        <button type="submit" class="primary" name="answer" value="mine" id="mine">${t.mine}</button>
        <button type="submit" class="secondary" name="answer" value="not-mine" id="not-mine">${t.notMine}</button>`,
      )}`,
    );
  }
  if (view.snapshot.matches('passwordEntry')) {
    return layout(
      lang,
      id,
      t.passwordTitle,
      'password',
      html`
      <p class="lead">${t.passwordLead(c.identifier?.masked ?? '')}</p>
      ${alert(lang, c.secondFactor && error === 'password-wrong' ? 'password-or-code-wrong' : error)}
      <p class="hint" id="tries">${t.triesLeft(2 - c.passwordTries)}</p>
      ${form(
        id,
        'password',
        lang,
        html`
        ${field('password', t.password, 'password', html` autocomplete="current-password"`)}
        ${
          c.secondFactor
            ? html`<p class="hint" id="otp-hint">${t.otpHint}</p>
        ${field('otp', t.otp, 'text', html` inputmode="numeric" pattern="[0-9]{6,8}" maxlength="8" autocomplete="one-time-code"`)}`
            : html``
        }
        <button type="submit" class="primary" id="confirm">${t.confirm}</button>`,
      )}
      ${form(id, 'answer', lang, html`<button type="submit" class="link" name="answer" value="not-mine" id="not-mine">${t.notMine}</button>`)}`,
    );
  }
  if (view.snapshot.matches('heldElsewhere')) {
    return layout(
      lang,
      id,
      t.elsewhereTitle,
      'elsewhere',
      html`
      <p class="lead" id="elsewhere">${t.elsewhereLead(c.identifier?.masked ?? '')}</p>
      <p class="hint">${t.elsewhereHint}</p>
      ${alert(lang, error)}
      ${form(id, 'change', lang, html`<button type="submit" class="primary" id="use-another">${t.useAnother}</button>`)}
      ${form(id, 'continue', lang, html`<button type="submit" class="secondary" id="continue">${t.continueWithout}</button>`)}`,
    );
  }
  if (view.snapshot.matches('closedHolder')) {
    const masked = c.identifier?.masked ?? '';
    return layout(
      lang,
      id,
      t.closedTitle,
      'closed',
      html`
      <p class="lead" id="closed">${t.closedLead(masked)}</p>
      <p class="hint">${t.closedHint(masked)}</p>
      ${alert(lang, error)}
      ${form(id, 'continue', lang, html`<button type="submit" class="primary" id="continue">${t.continueNew}</button>`)}
      ${form(id, 'change', lang, html`<button type="submit" class="link" id="use-another">${t.useAnother}</button>`)}`,
    );
  }
  return layout(lang, id, t.doneTitle, 'done', html`<p class="lead">${t.doneLead}</p>`);
}

export function renderGone(lang: Language): string {
  const t = TEXT[lang];
  return layout(lang, '', t.goneTitle, 'gone', html`<p class="lead">${t.goneLead}</p>`);
}
