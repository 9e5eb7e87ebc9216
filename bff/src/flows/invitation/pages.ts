import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../accounts/password-rules.ts';
import { html, type Html } from '../../http/html.ts';
import { page } from '../../http/pages.ts';
import type { InvitationLink, LinkProblem } from '../../invitations/invitations.ts';
import type { Language } from '../../kernel/languages.ts';

/**
 * The invitation's pages (issue 18, decision 0034), server-rendered with the page kit in each of the
 * platform's languages: the link's page (two ways: a new account here, or an existing one signed in on
 * Keycloak's page through the portal), the new-account form, the dead-link pages and the done page.
 * Errors are chosen by their code (`?error=`), never taken from a server's message.
 */
export type FormError = 'password' | 'username' | 'username-taken' | 'name' | 'account-exists' | 'busy' | 'rate-limited' | 'unavailable';

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
    toPortal: 'Go to your account',
    doneNewTitle: 'Your account is ready',
    doneNewLead: (tenant: string) => `You are now a member of ${tenant}. Sign in with your email address or mobile number and your password.`,
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
    toPortal: 'अपने खाते पर जाएँ',
    doneNewTitle: 'आपका खाता तैयार है',
    doneNewLead: (tenant: string) => `अब आप ${tenant} के सदस्य हैं। अपने ईमेल पते या मोबाइल नंबर और पासवर्ड से साइन इन करें।`,
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
      busy: 'यह आमंत्रण अभी स्वीकार किया जा रहा है। थोड़ा रुकें और पेज फिर से खोलें।',
      'rate-limited': 'बहुत अधिक प्रयास। कुछ देर रुककर फिर से कोशिश करें।',
      unavailable: 'अभी किसी सेवा ने जवाब नहीं दिया। कुछ नहीं खोया: फिर से कोशिश करें।',
    } as Record<FormError, string>,
  },
} satisfies Record<Language, unknown>;

export const isFormError = (value: unknown): value is FormError => typeof value === 'string' && value in TEXT.en.errors;

const base = (token: string) => `/invitations/${encodeURIComponent(token)}`;
/**
 * An existing account: the portal, which signs in on Keycloak's page (any way the account has) and
 * accepts. The token rides in the fragment, which no server (nor its log) ever receives.
 */
const viaPortal = (token: string, lang: Language) => `/portal/?lang=${lang}#invitation=${encodeURIComponent(token)}`;

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
      <a class="button secondary" id="existing" href="${viaPortal(token, lang)}">${t.existing}</a>`,
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
      <a class="link" id="existing" href="${viaPortal(token, lang)}">${t.existing}</a>`,
    (l) => `${base(token)}/new?lang=${l}`,
  );
}

/** The new account's done page (an existing account ends on the portal's profile). */
export function renderDone(link: InvitationLink, token: string, lang: Language): string {
  const t = TEXT[lang];
  return layout(
    lang,
    t.doneNewTitle,
    'done',
    html`
      <div class="notice success" role="status" id="done">
        <p class="lead">${t.doneNewLead(link.tenantNames[lang])}</p>
      </div>
      <a class="button primary" id="continue" href="/portal/?lang=${lang}">${t.signIn}</a>`,
    (l) => `${base(token)}/done?lang=${l}`,
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
