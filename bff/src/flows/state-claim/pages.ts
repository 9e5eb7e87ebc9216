import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../accounts/password-rules.ts';
import { html, type Html } from '../../http/html.ts';
import { page } from '../../http/pages.ts';
import type { Language } from '../../kernel/languages.ts';
import type { StateClaimView } from './service.ts';
import { MAX_PASSWORD_TRIES, type SealedIdentifier, type StepError } from './state-claim.machine.ts';

/**
 * The claim flow's pages, server-rendered with the page kit (http/pages.ts) in each of the platform's
 * languages. Each form is sent as JSON by pages/state-claim.js; the answer names the next page: the
 * flow's page again, or, once the flow has decided without asking anything, Keycloak's return URL
 * with the handoff id. Every text a person reads is here, in English and Hindi; errors are chosen by
 * their code, never taken from a server's message.
 */
type Kind = SealedIdentifier['kind'];
type PageError = StepError | 'password-or-code-wrong' | 'identifier' | 'busy';

const TEXT = {
  en: {
    noScript: 'These pages need JavaScript; turn it on and reload.',
    stateFallback: 'your state',
    kindWord: { email: 'email address', phone: 'mobile number' } as Record<Kind, string>,
    needIdentifierTitle: 'Confirm your email or mobile number',
    needIdentifierLead: 'Your state account did not share an email address or mobile number. Enter one; we will send you a code.',
    needAnotherLead: 'Enter another email address or mobile number; we will send you a code.',
    value: 'Email address or mobile number',
    sendCode: 'Send code',
    codeTitle: 'Enter the code',
    codeLead: 'We sent a 6-digit code to',
    code: 'Code',
    codeHint: 'The code is valid for a few minutes.',
    verify: 'Verify',
    resend: 'Send a new code',
    change: 'Use another email or number',
    askTitle: 'Is this your account?',
    askLead: (masked: string) => `An account with ${masked} already exists. Is it yours?`,
    askHint:
      'If it is yours, you keep it (and everything in it) and sign in with your state account from now on. If not, you get a new account; we show you what happens to the existing one before anything changes.',
    mine: 'Yes, it is mine',
    notMine: 'No, it is not mine',
    passwordTitle: 'Prove it is your account',
    passwordLead: (masked: string) => `Enter the password of the account with ${masked}.`,
    password: 'Password',
    otp: 'Code from your authenticator app',
    otpHint: 'This account is protected by an authenticator app: enter the 6-digit code it shows now.',
    confirm: 'Confirm',
    forgot: 'Forgot password?',
    triesLeft: (n: number) => (n === 1 ? 'You have 1 try left. After that you can reset the password, or get a new account instead.' : `You have ${n} tries.`),
    confirmTitle: 'Close the existing account?',
    confirmLeadRefuted: (masked: string) =>
      `You said the account with ${masked} is not yours. To go on, we create a new account for you. Nothing has changed yet.`,
    confirmLeadTries: (masked: string) =>
      `The password was not right twice, so we cannot give you the account with ${masked}. To go on, we create a new account for you. Nothing has changed yet.`,
    willHappen: 'If you confirm:',
    willClose: (masked: string) => `The account with ${masked} will be closed. Nobody can sign in to it any more.`,
    willMove: (masked: string, kind: Kind) => `Its ${kind === 'email' ? 'email address' : 'mobile number'} ${masked} moves to your new account.`,
    willStay: 'What belongs to the closed account, such as its history and memberships, stays with it. It does not move to your new account.',
    willKeepOpen: (masked: string) => `The account with ${masked} stays open, but ${masked} moves from it to your new account.`,
    willKeepRest: 'Everything else stays with that account.',
    confirmHintRefuted: 'If the account is yours after all, go back.',
    confirmHintTries: (masked: string) => `If the account is yours, reset its password instead: we send a code to ${masked}.`,
    confirmClose: 'Close it and create a new account',
    confirmTake: 'Create a new account',
    goBack: 'Go back',
    recoveryTitle: 'Enter the code',
    recoveryLead: (masked: string) => `We sent a 6-digit code to ${masked}. Entering it proves that the account with ${masked} is yours.`,
    newPasswordTitle: 'Choose a new password',
    newPasswordLead: (masked: string) => `The code was right. Choose a new password for the account with ${masked}; then you are signed in.`,
    newPassword: 'New password',
    newPasswordRules: `Use ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters. It must not be your email address or username, and not one of your recent passwords.`,
    savePassword: 'Save password and continue',
    notAppliedTitle: 'We could not finish',
    notAppliedLead: 'Something did not answer just now. Your answers are kept and nothing was lost: try again.',
    tryAgain: 'Try again',
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
    claimedTitle: 'Your account has moved',
    claimedLead: (masked: string, state: string) => `Your account ${masked} is now part of ${state}.`,
    claimedHint: 'Everything in it stays with you. From now on, sign in with your state account.',
    passwordChanged: 'Its password was changed.',
    createdTitle: 'We created a new account for you',
    createdClosed: (masked: string, kind: Kind, state: string) =>
      `Your earlier account ${masked} was closed, and its ${kind === 'email' ? 'email address' : 'mobile number'} now belongs to your new account in ${state}.`,
    createdClosedHint: 'What belonged to the closed account stays with it. From now on, sign in with your state account.',
    createdKept: (masked: string, state: string) => `Your new account in ${state} has ${masked}. The account that had it stays open without it.`,
    createdReleased: (masked: string, state: string) => `Your new account in ${state} has ${masked}. The closed account stays closed and no longer has it.`,
    createdWithout: (state: string) =>
      `Your new account in ${state} does not have the address that belongs to the other account. You can add an email address or mobile number later.`,
    signInWithState: 'From now on, sign in with your state account.',
    continue: 'Continue',
    goneTitle: 'This sign-in cannot continue',
    goneLead: 'The link expired or the sign-in was already finished. Nothing was changed by this page.',
    startAgain: 'Start again',
    countdown: 'Too many attempts. Try again in {time}.',
    waitSend: 'You can ask for a new code in {time}.',
    ready: 'You can try again now.',
    units: { s: 's', min: 'min' },
    errors: {
      'code-invalid': 'The code is wrong or has expired; check it or ask for a new one.',
      'rate-limited': 'Too many attempts. Wait a while and try again.',
      'delivery-failed': 'We could not send the code. Check the address or number and try again.',
      'password-wrong': 'That password is not right.',
      'password-or-code-wrong': 'That password or code is not right.',
      'code-required': 'Enter the 6-digit code from your authenticator app as well.',
      'password-policy': `This password does not follow the rules: use ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, not your email address or username.`,
      'password-reused': 'You used this password recently. Choose another one.',
      'recovered-code-wrong':
        'Your new password is saved, but the code from your authenticator app was not right. Enter your new password and the code it shows now.',
      unavailable: 'Something did not answer just now. Nothing was lost: try again.',
      identifier: 'Enter a valid email address or mobile number.',
      busy: 'This step is already being processed. Reload the page.',
    } as Record<PageError, string>,
  },
  hi: {
    noScript: 'इन पेजों के लिए JavaScript आवश्यक है; इसे चालू करके पेज फिर से लोड करें।',
    stateFallback: 'आपके राज्य',
    kindWord: { email: 'ईमेल पता', phone: 'मोबाइल नंबर' } as Record<Kind, string>,
    needIdentifierTitle: 'अपने ईमेल या मोबाइल नंबर की पुष्टि करें',
    needIdentifierLead: 'आपके राज्य खाते ने कोई ईमेल पता या मोबाइल नंबर साझा नहीं किया। एक दर्ज करें; हम आपको एक कोड भेजेंगे।',
    needAnotherLead: 'कोई दूसरा ईमेल पता या मोबाइल नंबर दर्ज करें; हम आपको एक कोड भेजेंगे।',
    value: 'ईमेल पता या मोबाइल नंबर',
    sendCode: 'कोड भेजें',
    codeTitle: 'कोड दर्ज करें',
    codeLead: 'हमने 6 अंकों का कोड भेजा है:',
    code: 'कोड',
    codeHint: 'कोड कुछ मिनटों के लिए मान्य है।',
    verify: 'पुष्टि करें',
    resend: 'नया कोड भेजें',
    change: 'कोई दूसरा ईमेल या नंबर उपयोग करें',
    askTitle: 'क्या यह आपका खाता है?',
    askLead: (masked: string) => `${masked} वाला एक खाता पहले से मौजूद है। क्या यह आपका है?`,
    askHint:
      'अगर यह आपका है, तो आप इसे (और इसमें सब कुछ) रखेंगे और अब से अपने राज्य खाते से साइन इन करेंगे। अगर नहीं, तो आपको नया खाता मिलेगा; कुछ भी बदलने से पहले हम आपको दिखाएँगे कि मौजूदा खाते का क्या होगा।',
    mine: 'हाँ, यह मेरा है',
    notMine: 'नहीं, यह मेरा नहीं है',
    passwordTitle: 'साबित करें कि यह आपका खाता है',
    passwordLead: (masked: string) => `${masked} वाले खाते का पासवर्ड दर्ज करें।`,
    password: 'पासवर्ड',
    otp: 'आपके ऑथेंटिकेटर ऐप का कोड',
    otpHint: 'यह खाता ऑथेंटिकेटर ऐप से सुरक्षित है: ऐप में अभी दिख रहा 6 अंकों का कोड दर्ज करें।',
    confirm: 'पुष्टि करें',
    forgot: 'पासवर्ड भूल गए?',
    triesLeft: (n: number) => (n === 1 ? 'आपके पास 1 प्रयास बचा है। उसके बाद आप पासवर्ड रीसेट कर सकते हैं, या इसके बजाय नया खाता ले सकते हैं।' : `आपके पास ${n} प्रयास हैं।`),
    confirmTitle: 'मौजूदा खाता बंद करें?',
    confirmLeadRefuted: (masked: string) => `आपने कहा कि ${masked} वाला खाता आपका नहीं है। आगे बढ़ने के लिए हम आपके लिए एक नया खाता बनाएँगे। अभी तक कुछ नहीं बदला है।`,
    confirmLeadTries: (masked: string) =>
      `पासवर्ड दो बार सही नहीं था, इसलिए हम आपको ${masked} वाला खाता नहीं दे सकते। आगे बढ़ने के लिए हम आपके लिए एक नया खाता बनाएँगे। अभी तक कुछ नहीं बदला है।`,
    willHappen: 'अगर आप पुष्टि करते हैं:',
    willClose: (masked: string) => `${masked} वाला खाता बंद कर दिया जाएगा। उसमें फिर कोई साइन इन नहीं कर सकेगा।`,
    willMove: (masked: string, kind: Kind) => `उसका ${kind === 'email' ? 'ईमेल पता' : 'मोबाइल नंबर'} ${masked} आपके नए खाते में चला जाएगा।`,
    willStay: 'बंद खाते की चीज़ें, जैसे उसका इतिहास और सदस्यताएँ, उसी के साथ रहेंगी। वे आपके नए खाते में नहीं आएँगी।',
    willKeepOpen: (masked: string) => `${masked} वाला खाता खुला रहेगा, लेकिन ${masked} उससे हटकर आपके नए खाते में चला जाएगा।`,
    willKeepRest: 'बाकी सब कुछ उसी खाते के साथ रहेगा।',
    confirmHintRefuted: 'अगर खाता आपका ही है, तो वापस जाएँ।',
    confirmHintTries: (masked: string) => `अगर खाता आपका है, तो इसके बजाय उसका पासवर्ड रीसेट करें: हम ${masked} पर एक कोड भेजेंगे।`,
    confirmClose: 'इसे बंद करें और नया खाता बनाएँ',
    confirmTake: 'नया खाता बनाएँ',
    goBack: 'वापस जाएँ',
    recoveryTitle: 'कोड दर्ज करें',
    recoveryLead: (masked: string) => `हमने ${masked} पर 6 अंकों का कोड भेजा है। इसे दर्ज करने से साबित होता है कि ${masked} वाला खाता आपका है।`,
    newPasswordTitle: 'नया पासवर्ड चुनें',
    newPasswordLead: (masked: string) => `कोड सही था। ${masked} वाले खाते के लिए नया पासवर्ड चुनें; फिर आप साइन इन हो जाएँगे।`,
    newPassword: 'नया पासवर्ड',
    newPasswordRules: `${PASSWORD_MIN_LENGTH} से ${PASSWORD_MAX_LENGTH} अक्षर उपयोग करें। यह आपका ईमेल पता या उपयोगकर्ता नाम नहीं होना चाहिए, और हाल ही में उपयोग किया गया पासवर्ड भी नहीं।`,
    savePassword: 'पासवर्ड सहेजें और जारी रखें',
    notAppliedTitle: 'हम पूरा नहीं कर सके',
    notAppliedLead: 'अभी कुछ ने जवाब नहीं दिया। आपके उत्तर सहेजे गए हैं और कुछ भी खोया नहीं है: फिर से प्रयास करें।',
    tryAgain: 'फिर से प्रयास करें',
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
    claimedTitle: 'आपका खाता स्थानांतरित हो गया',
    claimedLead: (masked: string, state: string) => `आपका खाता ${masked} अब ${state} का हिस्सा है।`,
    claimedHint: 'इसमें सब कुछ आपके पास रहता है। अब से अपने राज्य खाते से साइन इन करें।',
    passwordChanged: 'इसका पासवर्ड बदल दिया गया।',
    createdTitle: 'हमने आपके लिए एक नया खाता बनाया',
    createdClosed: (masked: string, kind: Kind, state: string) =>
      `आपका पुराना खाता ${masked} बंद कर दिया गया, और उसका ${kind === 'email' ? 'ईमेल पता' : 'मोबाइल नंबर'} अब ${state} में आपके नए खाते का है।`,
    createdClosedHint: 'बंद खाते की चीज़ें उसी के साथ रहती हैं। अब से अपने राज्य खाते से साइन इन करें।',
    createdKept: (masked: string, state: string) => `${state} में आपके नए खाते में ${masked} है। जिस खाते में यह था, वह इसके बिना खुला रहता है।`,
    createdReleased: (masked: string, state: string) => `${state} में आपके नए खाते में ${masked} है। बंद खाता बंद ही रहता है और उसमें अब यह नहीं है।`,
    createdWithout: (state: string) => `${state} में आपके नए खाते में वह पता नहीं है जो दूसरे खाते का है। आप बाद में एक ईमेल पता या मोबाइल नंबर जोड़ सकते हैं।`,
    signInWithState: 'अब से अपने राज्य खाते से साइन इन करें।',
    continue: 'जारी रखें',
    goneTitle: 'यह साइन-इन आगे नहीं बढ़ सकता',
    goneLead: 'लिंक की अवधि समाप्त हो गई या साइन-इन पहले ही पूरा हो चुका है। इस पेज ने कुछ नहीं बदला।',
    startAgain: 'फिर से शुरू करें',
    countdown: 'बहुत अधिक प्रयास। {time} में फिर से प्रयास करें।',
    waitSend: 'आप {time} में नया कोड माँग सकते हैं।',
    ready: 'अब आप फिर से प्रयास कर सकते हैं।',
    units: { s: 'सेकंड', min: 'मिनट' },
    errors: {
      'code-invalid': 'कोड गलत है या उसकी अवधि समाप्त हो गई है; जाँचें या नया कोड माँगें।',
      'rate-limited': 'बहुत अधिक प्रयास। कुछ देर रुककर फिर से प्रयास करें।',
      'delivery-failed': 'हम कोड नहीं भेज सके। पता या नंबर जाँचें और फिर से प्रयास करें।',
      'password-wrong': 'यह पासवर्ड सही नहीं है।',
      'password-or-code-wrong': 'यह पासवर्ड या कोड सही नहीं है।',
      'code-required': 'अपने ऑथेंटिकेटर ऐप का 6 अंकों का कोड भी दर्ज करें।',
      'password-policy': `यह पासवर्ड नियमों के अनुसार नहीं है: ${PASSWORD_MIN_LENGTH} से ${PASSWORD_MAX_LENGTH} अक्षर, आपका ईमेल पता या उपयोगकर्ता नाम नहीं।`,
      'password-reused': 'आपने यह पासवर्ड हाल ही में उपयोग किया है। कोई दूसरा चुनें।',
      'recovered-code-wrong': 'आपका नया पासवर्ड सहेज लिया गया है, लेकिन ऑथेंटिकेटर ऐप का कोड सही नहीं था। अपना नया पासवर्ड और ऐप में अभी दिख रहा कोड दर्ज करें।',
      unavailable: 'अभी कुछ ने जवाब नहीं दिया। कुछ भी खोया नहीं है: फिर से प्रयास करें।',
      identifier: 'एक मान्य ईमेल पता या मोबाइल नंबर दर्ज करें।',
      busy: 'यह चरण पहले से संसाधित हो रहा है। पेज फिर से लोड करें।',
    } as Record<PageError, string>,
  },
} satisfies Record<Language, unknown>;

type Texts = (typeof TEXT)['en'];

function layout(lang: Language, flowId: string, title: string, step: string, body: Html, t: Texts = TEXT[lang]): string {
  return page({
    lang,
    title,
    card: { id: 'state-claim', stack: true, data: { step } },
    // A gone flow has no page to switch the language of.
    languageHref: flowId ? (l) => `/state-claim/${flowId}?lang=${l}` : undefined,
    noScript: t.noScript,
    styles: ['state-claim.css'],
    scripts: ['state-claim.js'],
    body,
    // The countdown's words, for the script.
    strings: { countdown: t.countdown, waitSend: t.waitSend, ready: t.ready, units: t.units },
  });
}

/**
 * The step's message. `rate-limited` with a wait counts down (pages/state-claim.js) and, while it
 * runs, disables the buttons marked `data-wait`; `wait` chooses its words (a send cooldown is no error).
 */
function alert(lang: Language, error: string | null, retryAfterSeconds: number | null = null, wait: 'countdown' | 'waitSend' = 'countdown'): Html {
  if (!error) return html``;
  const t = TEXT[lang];
  if (error === 'rate-limited' && retryAfterSeconds && retryAfterSeconds > 0) {
    const [before, after] = t[wait].split('{time}') as [string, string];
    const role = wait === 'waitSend' ? 'status' : 'alert';
    return html`<div class="${wait === 'waitSend' ? 'notice info' : 'alert'}" role="${role}" id="error" data-error="${error}" data-countdown="${String(retryAfterSeconds)}">${before}<span class="countdown">${formatWait(retryAfterSeconds, t)}</span>${after}</div>`;
  }
  const text = t.errors[error as PageError] ?? t.errors.unavailable;
  return html`<div class="alert" role="alert" id="error" data-error="${error}">${text}</div>`;
}

/** Seconds under a minute and a half, else whole minutes (the script formats it the same way). */
function formatWait(seconds: number, t: Texts): string {
  return seconds < 90 ? `${seconds} ${t.units.s}` : `${Math.ceil(seconds / 60)} ${t.units.min}`;
}

/** A labelled field; `invalid`: the page's message (`#error`) is about it, and says so to screen readers. */
function field(name: string, label: string, type: string, extra: Html = html``, opts: { hint?: { id: string; text: string }; invalid?: boolean } = {}): Html {
  const { hint, invalid } = opts;
  const describedBy = [invalid ? 'error' : '', hint?.id ?? ''].filter(Boolean).join(' ');
  return html`
      <div class="field">
        <label for="${name}">${label}</label>
        <input id="${name}" name="${name}" type="${type}" required${describedBy ? html` aria-describedby="${describedBy}"` : html``}${invalid ? html` aria-invalid="true"` : html``}${extra}>${
          hint
            ? html`
        <p class="hint" id="${hint.id}">${hint.text}</p>`
            : html``
        }
      </div>`;
}

const form = (flowId: string, action: string, lang: Language, body: Html, cls = 'stack') =>
  html`<form method="post" action="/state-claim/${flowId}/${action}?lang=${lang}" class="${cls}" data-json>${body}</form>`;

/** A form of one button (a step without input). */
const button = (flowId: string, action: string, lang: Language, id: string, label: string, cls: 'primary' | 'secondary' | 'link', extra: Html = html``) =>
  form(flowId, action, lang, html`<button type="submit" class="${cls}" id="${id}"${extra}>${label}</button>`, cls === 'link' ? 'inline' : 'stack');

const appCodeField = (t: Texts, invalid: boolean) =>
  field('otp', t.otp, 'text', html` inputmode="numeric" pattern="[0-9]{6,8}" maxlength="8" autocomplete="one-time-code"`, {
    hint: { id: 'otp-hint', text: t.otpHint },
    invalid,
  });

/** The code entry of both purposes: the identifier to verify, or the account to recover. */
function codeForm(lang: Language, id: string, t: Texts, error: string | null, retryAfterSeconds: number | null, back: Html): Html {
  const cooling = error === 'rate-limited' && retryAfterSeconds !== null && retryAfterSeconds > 0;
  return html`
      ${form(
        id,
        'code',
        lang,
        html`
        ${field('code', t.code, 'text', html` class="code" inputmode="numeric" maxlength="6" autocomplete="one-time-code"`, {
          hint: { id: 'code-hint', text: t.codeHint },
          invalid: error === 'code-invalid',
        })}
        <button type="submit" class="primary" id="verify">${t.verify}</button>`,
      )}
      <div class="actions">
      ${button(id, 'resend', lang, 'resend', t.resend, 'link', cooling ? html` disabled data-wait` : html``)}
      ${back}
      </div>`;
}

/** The page of the flow's current step; `error` overrides the context's (e.g. a bad identifier). */
export function renderStep(view: StateClaimView, lang: Language, opts: { error?: string | null; retryAfterSeconds?: number } = {}): string {
  const t = TEXT[lang];
  const c = view.snapshot.context;
  const error = opts.error !== undefined ? opts.error : c.error;
  const retryAfter = opts.retryAfterSeconds ?? (error === c.error ? c.retryAfterSeconds : null);
  const id = view.id;
  const masked = c.identifier?.masked ?? '';
  const s = view.snapshot;
  if (s.matches('needIdentifier')) {
    // Back here from "use another" (the first one is held elsewhere or by a closed account).
    return layout(
      lang,
      id,
      t.needIdentifierTitle,
      'identifier',
      html`
      <p class="lead">${c.identifier ? t.needAnotherLead : t.needIdentifierLead}</p>
      ${alert(lang, error, retryAfter)}
      ${form(
        id,
        'identifier',
        lang,
        html`
        ${field('identifier', t.value, 'text', html` autocomplete="email" autocapitalize="none" spellcheck="false"`, {
          invalid: error === 'identifier' || error === 'delivery-failed',
        })}
        <button type="submit" class="primary" id="send-code" data-wait>${t.sendCode}</button>`,
      )}`,
    );
  }
  if (s.matches('codeSent')) {
    return layout(
      lang,
      id,
      t.codeTitle,
      'code',
      html`
      <p class="lead">${t.codeLead} <strong id="sent-to">${c.pending?.masked ?? ''}</strong></p>
      ${alert(lang, error, retryAfter, 'waitSend')}
      ${codeForm(lang, id, t, error, retryAfter, button(id, 'change', lang, 'change', t.change, 'link'))}`,
    );
  }
  if (s.matches('askOwnership')) {
    return layout(
      lang,
      id,
      t.askTitle,
      'ask',
      html`
      <p class="lead" id="ask">${t.askLead(masked)}</p>
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
  if (s.matches('passwordEntry')) {
    return layout(
      lang,
      id,
      t.passwordTitle,
      'password',
      html`
      <p class="lead">${t.passwordLead(masked)}</p>
      ${alert(lang, c.secondFactor && error === 'password-wrong' ? 'password-or-code-wrong' : error, retryAfter)}
      <p class="hint" id="tries">${t.triesLeft(MAX_PASSWORD_TRIES - c.passwordTries)}</p>
      ${form(
        id,
        'password',
        lang,
        html`
        ${field('password', t.password, 'password', html` autocomplete="current-password"`, {
          invalid: error === 'password-wrong' || error === 'recovered-code-wrong',
        })}
        ${c.secondFactor ? appCodeField(t, error === 'code-required' || error === 'password-wrong' || error === 'recovered-code-wrong') : html``}
        <button type="submit" class="primary" id="confirm" data-wait>${t.confirm}</button>`,
      )}
      <div class="actions">
      ${button(id, 'forgot', lang, 'forgot', t.forgot, 'link')}
      ${form(id, 'answer', lang, html`<button type="submit" class="link" name="answer" value="not-mine" id="not-mine">${t.notMine}</button>`, 'inline')}
      </div>`,
    );
  }
  if (s.matches('confirmNew')) {
    const kind = c.identifier?.kind ?? 'email';
    const refuted = c.reason === 'refuted';
    const consequences = c.matchCloses ? [t.willClose(masked), t.willMove(masked, kind), t.willStay] : [t.willKeepOpen(masked), t.willKeepRest];
    return layout(
      lang,
      id,
      t.confirmTitle,
      'confirm',
      html`
      <p class="lead" id="confirm-lead">${refuted ? t.confirmLeadRefuted(masked) : t.confirmLeadTries(masked)}</p>
      ${error && error !== 'password-wrong' ? alert(lang, error, retryAfter) : html``}
      <div class="consequences">
        <p class="label" id="will-happen">${t.willHappen}</p>
        <ul id="consequences" aria-labelledby="will-happen">${consequences.map(
          (line) => html`
          <li>${line}</li>`,
        )}
        </ul>
      </div>
      <p class="hint">${refuted ? t.confirmHintRefuted : t.confirmHintTries(masked)}</p>
      ${button(id, 'confirm', lang, 'confirm-new', c.matchCloses ? t.confirmClose : t.confirmTake, 'primary')}
      ${refuted ? button(id, 'back', lang, 'back', t.goBack, 'secondary') : button(id, 'forgot', lang, 'forgot', t.forgot, 'secondary')}`,
    );
  }
  if (s.matches('recoveryCode')) {
    return layout(
      lang,
      id,
      t.recoveryTitle,
      'recovery-code',
      html`
      <p class="lead" id="recovery-lead">${t.recoveryLead(masked)}</p>
      ${alert(lang, error, retryAfter, 'waitSend')}
      ${codeForm(lang, id, t, error, retryAfter, button(id, 'back', lang, 'back', t.goBack, 'link'))}`,
    );
  }
  if (s.matches('newPassword')) {
    return layout(
      lang,
      id,
      t.newPasswordTitle,
      'new-password',
      html`
      <p class="lead">${t.newPasswordLead(masked)}</p>
      ${alert(lang, error, retryAfter)}
      ${form(
        id,
        'new-password',
        lang,
        html`
        ${field('password', t.newPassword, 'password', html` autocomplete="new-password" maxlength="${String(PASSWORD_MAX_LENGTH)}"`, {
          hint: { id: 'password-rules', text: t.newPasswordRules },
          invalid: error === 'password-policy' || error === 'password-reused',
        })}
        ${c.secondFactor ? appCodeField(t, error === 'code-required') : html``}
        <button type="submit" class="primary" id="save-password" data-wait>${t.savePassword}</button>`,
      )}
      ${button(id, 'back', lang, 'back', t.goBack, 'link')}`,
    );
  }
  if (s.matches('notApplied')) {
    return layout(
      lang,
      id,
      t.notAppliedTitle,
      'not-applied',
      html`
      <p class="lead" role="alert" id="error" data-error="unavailable">${t.notAppliedLead}</p>
      ${button(id, 'retry', lang, 'retry', t.tryAgain, 'primary')}`,
    );
  }
  if (s.matches('heldElsewhere')) {
    return layout(
      lang,
      id,
      t.elsewhereTitle,
      'elsewhere',
      html`
      <p class="lead" id="elsewhere">${t.elsewhereLead(masked)}</p>
      <p class="hint">${t.elsewhereHint}</p>
      ${alert(lang, error, retryAfter)}
      ${button(id, 'change', lang, 'use-another', t.useAnother, 'primary')}
      ${button(id, 'continue', lang, 'continue', t.continueWithout, 'secondary')}`,
    );
  }
  if (s.matches('closedHolder')) {
    return layout(
      lang,
      id,
      t.closedTitle,
      'closed',
      html`
      <p class="lead" id="closed">${t.closedLead(masked)}</p>
      <p class="hint">${t.closedHint(masked)}</p>
      ${alert(lang, error, retryAfter)}
      ${button(id, 'continue', lang, 'continue', t.continueNew, 'primary')}
      ${button(id, 'change', lang, 'use-another', t.useAnother, 'link')}`,
    );
  }
  // Not a page of its own (decided and finished have theirs, the routes send them); a step between
  // two rests is never stored. Reload to see where the flow is.
  return layout(lang, id, t.notAppliedTitle, 'busy', html`<p class="lead">${t.errors.busy}</p>`);
}

/**
 * What was done, before the browser goes back to Keycloak (decision 0030): the migration ran at the
 * person's last answer, so this says it plainly, with one way on.
 */
export function renderFinished(view: StateClaimView, lang: Language, continueUrl: string): string {
  const t = TEXT[lang];
  const c = view.snapshot.context;
  const masked = c.identifier?.masked ?? '';
  const kind = c.identifier?.kind ?? 'email';
  const state = c.result?.tenantName ?? t.stateFallback;
  let title = t.createdTitle;
  let lines: string[];
  if (c.decision === 'claim') {
    title = t.claimedTitle;
    lines = [t.claimedLead(masked, state), c.reason === 'recovered' && c.matchUserId ? `${t.passwordChanged} ${t.claimedHint}` : t.claimedHint];
  } else if (c.reason === 'held-elsewhere') {
    lines = [t.createdWithout(state), t.signInWithState];
  } else if (c.reason === 'closed-holder') {
    lines = [t.createdReleased(masked, state), t.signInWithState];
  } else if (c.result?.match === 'kept') {
    lines = [t.createdKept(masked, state), t.signInWithState];
  } else {
    lines = [t.createdClosed(masked, kind, state), t.createdClosedHint];
  }
  const [lead, hint] = lines as [string, string];
  return layout(
    lang,
    view.id,
    title,
    'finished',
    html`
      <div class="notice success" role="status" id="done"${c.decision ? html` data-decision="${c.decision}"` : html``}>
        <p class="lead" id="done-lead">${lead}</p>
      </div>
      <p class="hint">${hint}</p>
      <a class="button primary" id="continue" href="${continueUrl}">${t.continue}</a>`,
  );
}

/** An unknown, expired or outdated claim link: it says so, and offers a fresh sign-in. */
export function renderGone(lang: Language, startAgainUrl: string): string {
  const t = TEXT[lang];
  return layout(
    lang,
    '',
    t.goneTitle,
    'gone',
    html`
      <p class="lead">${t.goneLead}</p>
      <a class="button primary" id="start-again" href="${startAgainUrl}">${t.startAgain}</a>`,
  );
}
