import type { PasswordPolicy } from '../../../accounts/password-policy.ts';
import type { Language } from '../../../kernel/languages.ts';

/**
 * Texts of the sign-up page, in each of the platform's languages (kernel/languages.ts); the shell's
 * own words (product name, language names) are http/pages.ts. `page` is rendered on the server;
 * `script` goes to the browser script, which shows errors and counts down waits. `{0}` is a placeholder.
 * The page never shows the API's own words: every refusal is shown by its `field` and `reason`
 * (issue 17 §6), with these texts; a reason without a text of its own gets the field's general one.
 */
export interface PageMessages {
  title: string;
  noScript: string;
  signUpWith: string;
  optionEmail: string;
  optionPhone: string;
  email: string;
  phone: string;
  phoneHint: string;
  firstName: string;
  lastName: string;
  /** The legend of the user types (their labels are the realm's, accounts/user-types.ts). */
  userType: string;
  username: string;
  usernameHint: string;
  password: string;
  passwordRules: string;
  showPassword: string;
  sendCode: string;
  haveAccount: string;
  signIn: string;
  codeTitle: string;
  codeSentTo: string;
  code: string;
  codeHint: string;
  createAccount: string;
  resend: string;
  changeDetails: string;
  doneTitle: string;
  /** `{0}`: the username, shown in bold. */
  doneLead: string;
  continue: string;
  continueToSignIn: string;
}

/** One phrase per rule of the realm's password policy, listed under the password field. `{0}`: the rule's number. */
export interface RuleMessages {
  minLength: string;
  maxLength: string;
  digits: string;
  lowerCase: string;
  upperCase: string;
  specialChars: string;
  notUsername: string;
  notEmail: string;
}

export interface ScriptMessages {
  checkFields: string;
  codeResent: string;
  codeStillValid: string;
  resendIn: string;
  rateLimited: string;
  seconds: string;
  minutes: string;
  network: string;
  unavailable: string;
  deliveryFailed: string;
  busy: string;
  failed: string;
  /** By `field.reason`, then `field`, then `reason`. `{0}`: the number of the policy's rule, filled in by `scriptMessages`. */
  reasons: Record<string, string>;
}

interface Texts {
  page: PageMessages;
  rules: RuleMessages;
  script: ScriptMessages;
}

const en: Texts = {
  page: {
    title: 'Create your account',
    noScript: 'This page needs JavaScript to send and check your code. Turn it on and reload the page.',
    signUpWith: 'Sign up with',
    optionEmail: 'Email',
    optionPhone: 'Mobile number',
    email: 'Email address',
    phone: 'Mobile number',
    phoneHint: 'Without a country code, the number is taken as Indian (+91).',
    firstName: 'First name',
    lastName: 'Last name (optional)',
    userType: 'You are',
    username: 'Username (optional)',
    usernameHint: 'Leave it empty and we make one from your name.',
    password: 'Password',
    passwordRules: 'Your password needs:',
    showPassword: 'Show password',
    sendCode: 'Send code',
    haveAccount: 'Already have an account?',
    signIn: 'Sign in',
    codeTitle: 'Enter your code',
    codeSentTo: 'We sent a 6-digit code to:',
    code: 'Code',
    codeHint: 'The 6 digits from the message.',
    createAccount: 'Create account',
    resend: 'Send a new code',
    changeDetails: 'Change details',
    doneTitle: 'Your account is ready',
    doneLead: 'Your username is {0}. Use it, your email address or your mobile number to sign in next time.',
    continue: 'Continue',
    continueToSignIn: 'Continue to sign in',
  },
  rules: {
    minLength: 'at least {0} characters',
    maxLength: 'at most {0} characters',
    digits: 'at least {0} digit(s)',
    lowerCase: 'at least {0} small letter(s)',
    upperCase: 'at least {0} capital letter(s)',
    specialChars: 'at least {0} symbol(s), such as - # or !',
    notUsername: 'not to be or contain your username',
    notEmail: 'not to be your email address',
  },
  script: {
    checkFields: 'Check the fields marked below.',
    codeResent: 'We sent a new code.',
    codeStillValid: 'We sent you a code a moment ago; it is still valid.',
    resendIn: 'Send a new code in {0}',
    rateLimited: 'Too many attempts. Try again in {0}.',
    seconds: '{0} s',
    minutes: '{0} min',
    network: 'We could not reach the server. Check your connection and try again.',
    unavailable: 'The service is not available right now. Try again in a moment.',
    deliveryFailed: 'We could not send the code. Check the address or number, or try again in a moment.',
    busy: 'Your account is being created. Wait a moment and press the button again.',
    failed: 'Something went wrong. Try again.',
    reasons: {
      required: 'Fill in this field.',
      too_long: 'This is too long.',
      invalid_format: 'This does not look right.',
      invalid_characters: 'Remove the characters that cannot be in a name, such as < > ( ) or $.',
      invalid: 'Check this field.',
      firstName: 'Check your first name.',
      'firstName.required': 'Enter your first name.',
      lastName: 'Check your last name.',
      userType: 'Choose the one that describes you.',
      email: 'Check your email address.',
      'email.required': 'Enter your email address.',
      'email.invalid_format': 'Enter an email address like name@example.com.',
      'email.taken': 'An account already uses this email address. Sign in with it instead, or use another address.',
      phone: 'Check your mobile number.',
      'phone.required': 'Enter your mobile number.',
      'phone.invalid_format': 'Enter a valid mobile number, like 98765 43210.',
      'phone.taken': 'An account already uses this mobile number. Sign in with it instead, or use another number.',
      username: 'Check the username.',
      'username.invalid_format': 'Use 3 or more of a–z, 0–9 and . _ - @, starting with a letter or digit.',
      'username.taken': 'This username is taken. Choose another, or leave it empty and we make one for you.',
      'username.required': 'We could not make a username from your name. Choose one.',
      password: 'Choose another password: this one does not meet the rules listed under the field.',
      'password.required': 'Choose a password.',
      'password.too_short': 'Use at least {0} characters.',
      'password.too_long': 'Use at most {0} characters.',
      'password.needs_digits': 'Add at least {0} digit(s).',
      'password.needs_lower_case': 'Add at least {0} small letter(s).',
      'password.needs_upper_case': 'Add at least {0} capital letter(s).',
      'password.needs_special_chars': 'Add at least {0} symbol(s), such as - # or !.',
      'password.is_username': 'Your password cannot be your username.',
      'password.contains_username': 'Your password cannot contain your username.',
      'password.is_email': 'Your password cannot be your email address.',
      code: 'Check the code.',
      'code.required': 'Enter the code.',
      'code.invalid': 'This code is wrong or has expired. Check it, or send a new code.',
      'code.invalid_format': 'Enter the 6 digits of the code.',
      'code.proof_invalid': 'Your verification has expired. Send a new code.',
      'code.used': 'This code was already used to create an account. Send a new code.',
    },
  },
};

const hi: Texts = {
  page: {
    title: 'अपना खाता बनाएँ',
    noScript: 'कोड भेजने और जाँचने के लिए इस पेज को JavaScript चाहिए। उसे चालू करें और पेज फिर से लोड करें।',
    signUpWith: 'इससे पंजीकरण करें',
    optionEmail: 'ईमेल',
    optionPhone: 'मोबाइल नंबर',
    email: 'ईमेल पता',
    phone: 'मोबाइल नंबर',
    phoneHint: 'देश कोड के बिना नंबर भारतीय (+91) माना जाता है।',
    firstName: 'पहला नाम',
    lastName: 'उपनाम (वैकल्पिक)',
    userType: 'आप हैं',
    username: 'उपयोगकर्ता नाम (वैकल्पिक)',
    usernameHint: 'खाली छोड़ें तो हम आपके नाम से एक बना देंगे।',
    password: 'पासवर्ड',
    passwordRules: 'आपके पासवर्ड में ये ज़रूरी हैं:',
    showPassword: 'पासवर्ड दिखाएँ',
    sendCode: 'कोड भेजें',
    haveAccount: 'पहले से खाता है?',
    signIn: 'साइन इन करें',
    codeTitle: 'अपना कोड दर्ज करें',
    codeSentTo: 'हमने 6 अंकों का कोड यहाँ भेजा है:',
    code: 'कोड',
    codeHint: 'संदेश में मिले 6 अंक।',
    createAccount: 'खाता बनाएँ',
    resend: 'नया कोड भेजें',
    changeDetails: 'विवरण बदलें',
    doneTitle: 'आपका खाता तैयार है',
    doneLead: 'आपका उपयोगकर्ता नाम {0} है। अगली बार साइन इन करने के लिए इसका, अपने ईमेल पते का या अपने मोबाइल नंबर का उपयोग करें।',
    continue: 'आगे बढ़ें',
    continueToSignIn: 'साइन इन पर जाएँ',
  },
  rules: {
    minLength: 'कम से कम {0} अक्षर',
    maxLength: 'अधिक से अधिक {0} अक्षर',
    digits: 'कम से कम {0} अंक',
    lowerCase: 'कम से कम {0} छोटा अंग्रेज़ी अक्षर',
    upperCase: 'कम से कम {0} बड़ा अंग्रेज़ी अक्षर',
    specialChars: 'कम से कम {0} चिह्न, जैसे - # या !',
    notUsername: 'आपका उपयोगकर्ता नाम न हो और उसमें शामिल न हो',
    notEmail: 'आपका ईमेल पता न हो',
  },
  script: {
    checkFields: 'नीचे चिह्नित फ़ील्ड जाँचें।',
    codeResent: 'हमने नया कोड भेजा है।',
    codeStillValid: 'हमने अभी-अभी आपको एक कोड भेजा है; वह अभी भी मान्य है।',
    resendIn: '{0} में नया कोड भेजें',
    rateLimited: 'बहुत अधिक प्रयास। {0} बाद फिर से प्रयास करें।',
    seconds: '{0} सेकंड',
    minutes: '{0} मिनट',
    network: 'सर्वर से संपर्क नहीं हो सका। अपना कनेक्शन जाँचें और फिर से प्रयास करें।',
    unavailable: 'सेवा अभी उपलब्ध नहीं है। थोड़ी देर में फिर से प्रयास करें।',
    deliveryFailed: 'हम कोड नहीं भेज सके। पता या नंबर जाँचें, या थोड़ी देर में फिर से प्रयास करें।',
    busy: 'आपका खाता बनाया जा रहा है। थोड़ा रुकें और बटन फिर से दबाएँ।',
    failed: 'कुछ गलत हो गया। फिर से प्रयास करें।',
    reasons: {
      required: 'यह फ़ील्ड भरें।',
      too_long: 'यह बहुत लंबा है।',
      invalid_format: 'यह सही नहीं लगता।',
      invalid_characters: 'वे चिह्न हटाएँ जो नाम में नहीं हो सकते, जैसे < > ( ) या $।',
      invalid: 'यह फ़ील्ड जाँचें।',
      firstName: 'अपना पहला नाम जाँचें।',
      'firstName.required': 'अपना पहला नाम दर्ज करें।',
      lastName: 'अपना उपनाम जाँचें।',
      userType: 'वह विकल्प चुनें जो आप पर लागू होता है।',
      email: 'अपना ईमेल पता जाँचें।',
      'email.required': 'अपना ईमेल पता दर्ज करें।',
      'email.invalid_format': 'name@example.com जैसा ईमेल पता दर्ज करें।',
      'email.taken': 'इस ईमेल पते से एक खाता पहले से है। उससे साइन इन करें, या कोई दूसरा पता दें।',
      phone: 'अपना मोबाइल नंबर जाँचें।',
      'phone.required': 'अपना मोबाइल नंबर दर्ज करें।',
      'phone.invalid_format': '98765 43210 जैसा मान्य मोबाइल नंबर दर्ज करें।',
      'phone.taken': 'इस मोबाइल नंबर से एक खाता पहले से है। उससे साइन इन करें, या कोई दूसरा नंबर दें।',
      username: 'उपयोगकर्ता नाम जाँचें।',
      'username.invalid_format': 'a–z, 0–9 और . _ - @ में से कम से कम 3 अक्षर, शुरुआत अक्षर या अंक से।',
      'username.taken': 'यह उपयोगकर्ता नाम पहले से लिया जा चुका है। कोई दूसरा चुनें, या खाली छोड़ें तो हम एक बना देंगे।',
      'username.required': 'हम आपके नाम से उपयोगकर्ता नाम नहीं बना सके। कृपया एक चुनें।',
      password: 'कोई दूसरा पासवर्ड चुनें: यह फ़ील्ड के नीचे लिखे नियम पूरे नहीं करता।',
      'password.required': 'एक पासवर्ड चुनें।',
      'password.too_short': 'कम से कम {0} अक्षरों का उपयोग करें।',
      'password.too_long': 'अधिक से अधिक {0} अक्षरों का उपयोग करें।',
      'password.needs_digits': 'कम से कम {0} अंक जोड़ें।',
      'password.needs_lower_case': 'कम से कम {0} छोटा अंग्रेज़ी अक्षर जोड़ें।',
      'password.needs_upper_case': 'कम से कम {0} बड़ा अंग्रेज़ी अक्षर जोड़ें।',
      'password.needs_special_chars': 'कम से कम {0} चिह्न जोड़ें, जैसे - # या !।',
      'password.is_username': 'पासवर्ड आपका उपयोगकर्ता नाम नहीं हो सकता।',
      'password.contains_username': 'पासवर्ड में आपका उपयोगकर्ता नाम नहीं हो सकता।',
      'password.is_email': 'पासवर्ड आपका ईमेल पता नहीं हो सकता।',
      code: 'कोड जाँचें।',
      'code.required': 'कोड दर्ज करें।',
      'code.invalid': 'यह कोड गलत है या उसकी अवधि समाप्त हो गई है। उसे जाँचें, या नया कोड भेजें।',
      'code.invalid_format': 'कोड के 6 अंक दर्ज करें।',
      'code.proof_invalid': 'आपका सत्यापन समाप्त हो गया है। नया कोड भेजें।',
      'code.used': 'इस कोड से पहले ही एक खाता बनाया जा चुका है। नया कोड भेजें।',
    },
  },
};

export const MESSAGES: Record<Language, Texts> = { en, hi };

/** The phrases of the policy's rules the page lists, in `lang` (none when the policy could not be read). */
export function policyRules(lang: Language, policy: PasswordPolicy | undefined): string[] {
  if (!policy) return [];
  const r = MESSAGES[lang].rules;
  const n = (text: string, value: number) => text.replace('{0}', String(value));
  return [
    policy.minLength !== undefined ? n(r.minLength, policy.minLength) : '',
    policy.maxLength !== undefined ? n(r.maxLength, policy.maxLength) : '',
    policy.digits ? n(r.digits, policy.digits) : '',
    policy.lowerCase ? n(r.lowerCase, policy.lowerCase) : '',
    policy.upperCase ? n(r.upperCase, policy.upperCase) : '',
    policy.specialChars ? n(r.specialChars, policy.specialChars) : '',
    policy.notUsername || policy.notContainsUsername ? r.notUsername : '',
    policy.notEmail ? r.notEmail : '',
  ].filter((text) => text !== '');
}

/** The script's texts, with the numbers of the realm's policy in the password reasons. */
export function scriptMessages(lang: Language, policy: PasswordPolicy | undefined): ScriptMessages {
  const script = MESSAGES[lang].script;
  const numbers: Record<string, number | undefined> = {
    'password.too_short': policy?.minLength,
    'password.too_long': policy?.maxLength,
    'password.needs_digits': policy?.digits,
    'password.needs_lower_case': policy?.lowerCase,
    'password.needs_upper_case': policy?.upperCase,
    'password.needs_special_chars': policy?.specialChars,
  };
  const reasons = Object.fromEntries(
    Object.entries(script.reasons).map(([key, text]) => {
      const value = numbers[key];
      // Without the policy's number the rule is not told half: the field's general text instead.
      if (text.includes('{0}')) return [key, value === undefined ? script.reasons.password! : text.replace('{0}', String(value))];
      return [key, text];
    }),
  );
  return { ...script, reasons };
}
