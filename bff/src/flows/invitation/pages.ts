import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../accounts/password-rules.ts';
import { html, type Html } from '../../http/html.ts';
import { page } from '../../http/pages.ts';
import type { InvitationLink, LinkProblem } from '../../invitations/invitations.ts';
import type { Language } from '../../kernel/languages.ts';

/**
 * The invitation's pages (issue 18, decision 0034), server-rendered with the page kit in each of the
 * platform's languages: the link's page (two ways: a new account, or an existing one), the two forms,
 * the wrong-account refusal, the dead-link pages and the done page. Errors are chosen by their code
 * (`?error=`), never taken from a server's message.
 */
export type FormError =
  | 'password'
  | 'username'
  | 'username-taken'
  | 'name'
  | 'account-exists'
  | 'wrong-password'
  | 'action-required'
  | 'busy'
  | 'rate-limited'
  | 'unavailable';

const TEXT = {
  en: {
    noScript: 'These pages need JavaScript; turn it on and reload.',
    kindWord: { email: 'email address', phone: 'mobile number' },
    inviteTitle: (tenant: string) => `Join ${tenant}`,
    inviteLead: (tenant: string, masked: string) => `You are invited to join ${tenant} with ${masked}.`,
    inviteHint:
      'Do you already have an account on this platform? Sign in to it and it joins. If not, create one now: this link proves the address, no code needed.',
    create: 'Create my account',
    existing: 'I already have an account',
    newTitle: 'Create your account',
    newLead: (tenant: string, masked: string) => `Your account joins ${tenant}. You sign in with ${masked} and the password you choose here.`,
    firstName: 'First name',
    lastName: 'Last name (optional)',
    username: 'Username (optional)',
    usernameHint: 'You can also sign in with it. Leave it empty and we choose one for you.',
    password: 'Password',
    passwordRules: `Use ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters. It must not be your email address or username.`,
    createSubmit: 'Create account',
    signInTitle: 'Sign in to join',
    signInLead: (tenant: string, masked: string) => `Sign in to the account that has ${masked}; it joins ${tenant}. The invitation is only for that account.`,
    login: 'Email, mobile number or username',
    signInSubmit: 'Sign in and join',
    forgot: 'Forgot password?',
    otherWay: 'I have no account yet',
    wrongTitle: 'This invitation is for another account',
    wrongLead: (masked: string) => `The account you signed in to does not have ${masked}, the address this invitation was sent to. Nothing has changed.`,
    wrongHint: (masked: string) =>
      `Sign in to the account that has ${masked}. If that is your account but it does not show ${masked} yet, add and confirm it in your account first, then open the link again.`,
    signInAnother: 'Sign in with another account',
    toPortal: 'Go to your account',
    doneNewTitle: 'Your account is ready',
    doneNewLead: (tenant: string) => `You are now a member of ${tenant}. Sign in with your email address or mobile number and your password.`,
    doneJoinedTitle: 'You joined',
    doneJoinedLead: (tenant: string) => `Your account is now a member of ${tenant}.`,
    signIn: 'Sign in',
    deadTitle: {
      unknown: 'This link does not work',
      expired: 'This link does not work',
      revoked: 'This invitation was withdrawn',
      used: 'This invitation was already accepted',
    } as Record<LinkProblem, string>,
    deadLead: {
      unknown: 'The invitation link is not valid any more: it may have expired, or a newer link was sent.',
      expired: 'The invitation link is not valid any more: it may have expired, or a newer link was sent.',
      revoked: 'The administrator who invited you withdrew this invitation.',
      used: 'Someone has already accepted this invitation with this link. If that was you, sign in to your account.',
    } as Record<LinkProblem, string>,
    deadHint: 'Ask the administrator who invited you for a new invitation.',
    errors: {
      password: `The password does not meet the rules: ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, not your email address or username.`,
      username: 'Use 3 to 255 letters, digits, dots, dashes or underscores for the username.',
      'username-taken': 'This username is taken. Choose another, or leave it empty.',
      name: 'Enter your first name, with letters only.',
      'account-exists': 'An account with this address already exists. Sign in to it instead.',
      'wrong-password': 'The sign-in details are not right. Try again.',
      'action-required': 'Your account has a step to finish first. Sign in to your account, then open the link again.',
      busy: 'This invitation is being accepted right now. Wait a moment and reload.',
      'rate-limited': 'Too many tries. Wait a while and try again.',
      unavailable: 'Something did not answer just now. Nothing was lost: try again.',
    } as Record<FormError, string>,
  },
  hi: {
    noScript: 'इन पेजों के लिए जावास्क्रिप्ट चाहिए; उसे चालू करें और पेज फिर से खोलें।',
    kindWord: { email: 'ईमेल पता', phone: 'मोबाइल नंबर' },
    inviteTitle: (tenant: string) => `${tenant} से जुड़ें`,
    inviteLead: (tenant: string, masked: string) => `आपको ${masked} के साथ ${tenant} से जुड़ने का आमंत्रण है।`,
    inviteHint: 'क्या इस प्लेटफ़ॉर्म पर आपका खाता पहले से है? उसमें साइन इन करें, वह जुड़ जाएगा। नहीं तो अभी एक खाता बनाएँ: यह लिंक पते को प्रमाणित करता है, कोड की ज़रूरत नहीं।',
    create: 'मेरा खाता बनाएँ',
    existing: 'मेरा खाता पहले से है',
    newTitle: 'अपना खाता बनाएँ',
    newLead: (tenant: string, masked: string) => `आपका खाता ${tenant} से जुड़ेगा। आप ${masked} और यहाँ चुने गए पासवर्ड से साइन इन करेंगे।`,
    firstName: 'पहला नाम',
    lastName: 'उपनाम (वैकल्पिक)',
    username: 'उपयोगकर्ता नाम (वैकल्पिक)',
    usernameHint: 'आप इससे भी साइन इन कर सकते हैं। खाली छोड़ें, तो हम आपके लिए एक चुन लेंगे।',
    password: 'पासवर्ड',
    passwordRules: `${PASSWORD_MIN_LENGTH} से ${PASSWORD_MAX_LENGTH} अक्षर रखें। यह आपका ईमेल पता या उपयोगकर्ता नाम नहीं होना चाहिए।`,
    createSubmit: 'खाता बनाएँ',
    signInTitle: 'जुड़ने के लिए साइन इन करें',
    signInLead: (tenant: string, masked: string) => `उस खाते में साइन इन करें जिसमें ${masked} है; वह ${tenant} से जुड़ जाएगा। यह आमंत्रण केवल उसी खाते के लिए है।`,
    login: 'ईमेल, मोबाइल नंबर या उपयोगकर्ता नाम',
    signInSubmit: 'साइन इन करें और जुड़ें',
    forgot: 'पासवर्ड भूल गए?',
    otherWay: 'मेरा अभी कोई खाता नहीं है',
    wrongTitle: 'यह आमंत्रण किसी दूसरे खाते के लिए है',
    wrongLead: (masked: string) => `जिस खाते में आपने साइन इन किया, उसमें ${masked} नहीं है, जिस पर यह आमंत्रण भेजा गया था। कुछ नहीं बदला।`,
    wrongHint: (masked: string) =>
      `उस खाते में साइन इन करें जिसमें ${masked} है। यदि वह आपका खाता है पर उसमें अभी ${masked} नहीं दिखता, तो पहले अपने खाते में उसे जोड़ें और पुष्टि करें, फिर लिंक दोबारा खोलें।`,
    signInAnother: 'किसी दूसरे खाते से साइन इन करें',
    toPortal: 'अपने खाते पर जाएँ',
    doneNewTitle: 'आपका खाता तैयार है',
    doneNewLead: (tenant: string) => `अब आप ${tenant} के सदस्य हैं। अपने ईमेल पते या मोबाइल नंबर और पासवर्ड से साइन इन करें।`,
    doneJoinedTitle: 'आप जुड़ गए',
    doneJoinedLead: (tenant: string) => `आपका खाता अब ${tenant} का सदस्य है।`,
    signIn: 'साइन इन करें',
    deadTitle: {
      unknown: 'यह लिंक काम नहीं करता',
      expired: 'यह लिंक काम नहीं करता',
      revoked: 'यह आमंत्रण वापस ले लिया गया',
      used: 'यह आमंत्रण पहले ही स्वीकार हो चुका है',
    } as Record<LinkProblem, string>,
    deadLead: {
      unknown: 'आमंत्रण का लिंक अब मान्य नहीं है: हो सकता है उसकी अवधि समाप्त हो गई हो, या कोई नया लिंक भेजा गया हो।',
      expired: 'आमंत्रण का लिंक अब मान्य नहीं है: हो सकता है उसकी अवधि समाप्त हो गई हो, या कोई नया लिंक भेजा गया हो।',
      revoked: 'जिस व्यवस्थापक ने आपको आमंत्रित किया था, उन्होंने यह आमंत्रण वापस ले लिया।',
      used: 'इस लिंक से यह आमंत्रण पहले ही स्वीकार किया जा चुका है। यदि वह आप थे, तो अपने खाते में साइन इन करें।',
    } as Record<LinkProblem, string>,
    deadHint: 'जिस व्यवस्थापक ने आपको आमंत्रित किया था, उनसे नया आमंत्रण माँगें।',
    errors: {
      password: `पासवर्ड नियमों के अनुसार नहीं है: ${PASSWORD_MIN_LENGTH} से ${PASSWORD_MAX_LENGTH} अक्षर, आपका ईमेल पता या उपयोगकर्ता नाम नहीं।`,
      username: 'उपयोगकर्ता नाम के लिए 3 से 255 अक्षर, अंक, बिंदु, डैश या अंडरस्कोर रखें।',
      'username-taken': 'यह उपयोगकर्ता नाम पहले से लिया हुआ है। कोई दूसरा चुनें, या खाली छोड़ें।',
      name: 'अपना पहला नाम लिखें, केवल अक्षरों में।',
      'account-exists': 'इस पते वाला खाता पहले से मौजूद है। उसके बजाय उसमें साइन इन करें।',
      'wrong-password': 'साइन-इन की जानकारी सही नहीं है। फिर से कोशिश करें।',
      'action-required': 'आपके खाते में पहले एक चरण पूरा करना है। अपने खाते में साइन इन करें, फिर लिंक दोबारा खोलें।',
      busy: 'यह आमंत्रण अभी स्वीकार किया जा रहा है। थोड़ा रुकें और पेज फिर से खोलें।',
      'rate-limited': 'बहुत अधिक प्रयास। कुछ देर रुककर फिर से कोशिश करें।',
      unavailable: 'अभी किसी सेवा ने जवाब नहीं दिया। कुछ नहीं खोया: फिर से कोशिश करें।',
    } as Record<FormError, string>,
  },
} satisfies Record<Language, unknown>;

export const isFormError = (value: unknown): value is FormError => typeof value === 'string' && value in TEXT.en.errors;

const base = (token: string) => `/invitations/${encodeURIComponent(token)}`;

function layout(lang: Language, title: string, step: string, body: Html, languageHref?: (l: Language) => string): string {
  return page({
    lang,
    title,
    card: { id: 'invitation', stack: true, data: { step } },
    languageHref,
    noScript: TEXT[lang].noScript,
    styles: ['invitation.css'],
    scripts: ['invitation.js'],
    body,
  });
}

function alert(lang: Language, error: FormError | undefined): Html {
  return error ? html`<div class="alert" role="alert" id="error" data-error="${error}">${TEXT[lang].errors[error]}</div>` : html``;
}

function field(
  name: string,
  label: string,
  type: string,
  opts: { required?: boolean; value?: string; autocomplete?: string; hint?: string; invalid?: boolean } = {},
): Html {
  const described = [opts.invalid ? 'error' : '', opts.hint ? `${name}-hint` : ''].filter(Boolean).join(' ');
  return html`
      <div class="field">
        <label for="${name}">${label}</label>
        <input id="${name}" name="${name}" type="${type}"${opts.required === false ? html`` : html` required`}${opts.value ? html` value="${opts.value}"` : html``}${
          opts.autocomplete ? html` autocomplete="${opts.autocomplete}"` : html``
        }${described ? html` aria-describedby="${described}"` : html``}${opts.invalid ? html` aria-invalid="true"` : html``}>${
          opts.hint
            ? html`
        <p class="hint" id="${name}-hint">${opts.hint}</p>`
            : html``
        }
      </div>`;
}

/** The link's page: who invites, to what, and the two ways on. */
export function renderInvitation(link: InvitationLink, token: string, lang: Language): string {
  const t = TEXT[lang];
  return layout(
    lang,
    t.inviteTitle(link.tenantNames[lang]),
    'invitation',
    html`
      <p class="lead" id="invited">${t.inviteLead(link.tenantNames[lang], link.masked)}</p>
      <p class="hint">${t.inviteHint}</p>
      <a class="button primary" id="create" href="${base(token)}/new?lang=${lang}">${t.create}</a>
      <a class="button secondary" id="existing" href="${base(token)}/sign-in?lang=${lang}">${t.existing}</a>`,
    (l) => `${base(token)}?lang=${l}`,
  );
}

export function renderNewAccount(link: InvitationLink, token: string, lang: Language, error?: FormError): string {
  const t = TEXT[lang];
  return layout(
    lang,
    t.newTitle,
    'new',
    html`
      <p class="lead">${t.newLead(link.tenantNames[lang], link.masked)}</p>
      ${alert(lang, error)}
      <form method="post" action="${base(token)}/account?lang=${lang}" class="stack" data-json>
        ${field('firstName', t.firstName, 'text', { autocomplete: 'given-name', value: link.firstName ?? '', invalid: error === 'name' })}
        ${field('lastName', t.lastName, 'text', { required: false, autocomplete: 'family-name', value: link.lastName ?? '' })}
        ${field('username', t.username, 'text', { required: false, autocomplete: 'username', hint: t.usernameHint, invalid: error === 'username' || error === 'username-taken' })}
        ${field('password', t.password, 'password', { autocomplete: 'new-password', hint: t.passwordRules, invalid: error === 'password' })}
        <button type="submit" class="primary" id="submit">${t.createSubmit}</button>
      </form>
      <a class="link" id="existing" href="${base(token)}/sign-in?lang=${lang}">${t.existing}</a>`,
    (l) => `${base(token)}/new?lang=${l}`,
  );
}

export function renderSignIn(link: InvitationLink, token: string, lang: Language, forgotUrl: string, error?: FormError): string {
  const t = TEXT[lang];
  return layout(
    lang,
    t.signInTitle,
    'sign-in',
    html`
      <p class="lead">${t.signInLead(link.tenantNames[lang], link.masked)}</p>
      ${alert(lang, error)}
      <form method="post" action="${base(token)}/accept?lang=${lang}" class="stack" data-json>
        ${field('login', t.login, 'text', { autocomplete: 'username', invalid: error === 'wrong-password' })}
        ${field('password', t.password, 'password', { autocomplete: 'current-password', invalid: error === 'wrong-password' })}
        <button type="submit" class="primary" id="submit">${t.signInSubmit}</button>
      </form>
      <div class="actions">
        <a class="link" id="forgot" href="${forgotUrl}">${t.forgot}</a>
        <a class="link" id="create" href="${base(token)}/new?lang=${lang}">${t.otherWay}</a>
      </div>`,
    (l) => `${base(token)}/sign-in?lang=${l}`,
  );
}

export function renderWrongAccount(link: InvitationLink, token: string, lang: Language): string {
  const t = TEXT[lang];
  return layout(
    lang,
    t.wrongTitle,
    'wrong-account',
    html`
      <p class="lead" id="wrong">${t.wrongLead(link.masked)}</p>
      <p class="hint">${t.wrongHint(link.masked)}</p>
      <a class="button primary" id="sign-in-another" href="${base(token)}/sign-in?lang=${lang}">${t.signInAnother}</a>
      <a class="button secondary" id="portal" href="/portal/?lang=${lang}">${t.toPortal}</a>`,
    (l) => `${base(token)}/wrong-account?lang=${l}`,
  );
}

export function renderDone(link: InvitationLink, token: string, lang: Language, as: 'new' | 'joined'): string {
  const t = TEXT[lang];
  return layout(
    lang,
    as === 'new' ? t.doneNewTitle : t.doneJoinedTitle,
    'done',
    html`
      <div class="notice success" role="status" id="done" data-as="${as}">
        <p class="lead">${as === 'new' ? t.doneNewLead(link.tenantNames[lang]) : t.doneJoinedLead(link.tenantNames[lang])}</p>
      </div>
      <a class="button primary" id="continue" href="/portal/?lang=${lang}">${as === 'new' ? t.signIn : t.toPortal}</a>`,
    (l) => `${base(token)}/done?as=${as}&lang=${l}`,
  );
}

/** A link that leads nowhere (unknown, expired, revoked, used): what happened and the ways on. */
export function renderDead(problem: LinkProblem, lang: Language): string {
  const t = TEXT[lang];
  return layout(
    lang,
    t.deadTitle[problem],
    'dead',
    html`
      <p class="lead" id="dead" data-reason="${problem === 'expired' ? 'unknown' : problem}">${t.deadLead[problem]}</p>
      <p class="hint">${t.deadHint}</p>
      <a class="button primary" id="portal" href="/portal/?lang=${lang}">${problem === 'used' ? t.signIn : t.toPortal}</a>`,
  );
}
