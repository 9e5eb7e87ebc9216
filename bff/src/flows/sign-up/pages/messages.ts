import type { Language } from '../../../kernel/languages.ts';

/**
 * Texts of the sign-up page, in each of the platform's languages (kernel/languages.ts); the shell's
 * own words (product name, language names) are http/pages.ts. `page` is rendered on the server;
 * `script` goes to the browser script, which shows errors and counts down waits. `{0}` is a placeholder.
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
  name: string;
  nameHint: string;
  username: string;
  usernameHint: string;
  password: string;
  passwordHint: string;
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
  yourUsername: string;
  doneHint: string;
  continue: string;
}

export interface ScriptMessages {
  working: string;
  checkFields: string;
  codeResent: string;
  resendIn: string;
  rateLimited: string;
  seconds: string;
  minutes: string;
  network: string;
  unavailable: string;
  failed: string;
  /** By `field.reason` or `reason`; English uses the API's own message when it has one. */
  reasons: Record<string, string>;
}

const en: { page: PageMessages; script: ScriptMessages } = {
  page: {
    title: 'Create your account',
    noScript: 'This page needs JavaScript to send and check your code. Turn it on and reload the page.',
    signUpWith: 'Sign up with',
    optionEmail: 'Email',
    optionPhone: 'Mobile number',
    email: 'Email',
    phone: 'Mobile number',
    phoneHint: 'Without a country code, the number is taken as Indian (+91).',
    name: 'Full name',
    nameHint: 'As you want it on your account; we make your username from it.',
    username: 'Username (optional)',
    usernameHint: 'Leave it empty and we make one for you.',
    password: 'Password',
    passwordHint: 'At least 10 characters; not your username or email.',
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
    yourUsername: 'Your username',
    doneHint: 'Sign in with this username and the password you chose.',
    continue: 'Continue to sign in',
  },
  script: {
    working: 'Please wait…',
    checkFields: 'Check the fields marked below.',
    codeResent: 'We sent a new code.',
    resendIn: 'Send a new code in {0}',
    rateLimited: 'Too many attempts. Try again in {0}.',
    seconds: '{0} s',
    minutes: '{0} min',
    network: 'We could not reach the server. Check your connection and try again.',
    unavailable: 'The service is not available right now. Try again in a moment.',
    failed: 'Something went wrong. Try again.',
    reasons: {
      required: 'Fill in this field.',
      too_long: 'This is too long.',
      invalid_format: 'This does not look right.',
      'email.invalid_format': 'Enter a valid email address.',
      'phone.invalid_format': 'Enter a valid mobile number.',
      'email.taken': 'An account with this email already exists.',
      'phone.taken': 'An account with this mobile number already exists.',
      'username.taken': 'This username is taken.',
      'code.invalid': 'The code is wrong or has expired. Check it or send a new code.',
      'code.invalid_format': 'Enter the 6 digits of the code.',
      'username.invalid_format': 'Use 3 or more of a–z, 0–9, ".", "_", "-", "@", starting with a letter or digit.',
      'password.policy': 'Choose a password of at least 10 characters that is not your username or email.',
      proof_invalid: 'Your verification has expired. Send a new code.',
      used: 'This code was already used to create an account. Send a new code.',
    },
  },
};

const hi: typeof en = {
  page: {
    title: 'अपना खाता बनाएँ',
    noScript: 'कोड भेजने और जाँचने के लिए इस पेज को JavaScript चाहिए। उसे चालू करें और पेज फिर से लोड करें।',
    signUpWith: 'इससे पंजीकरण करें',
    optionEmail: 'ईमेल',
    optionPhone: 'मोबाइल नंबर',
    email: 'ईमेल',
    phone: 'मोबाइल नंबर',
    phoneHint: 'देश कोड के बिना नंबर भारतीय (+91) माना जाता है।',
    name: 'पूरा नाम',
    nameHint: 'जैसा आप अपने खाते पर चाहते हैं; इसी से आपका उपयोगकर्ता नाम बनता है।',
    username: 'उपयोगकर्ता नाम (वैकल्पिक)',
    usernameHint: 'खाली छोड़ें तो हम आपके लिए एक बना देंगे।',
    password: 'पासवर्ड',
    passwordHint: 'कम से कम 10 अक्षर; आपका उपयोगकर्ता नाम या ईमेल नहीं।',
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
    yourUsername: 'आपका उपयोगकर्ता नाम',
    doneHint: 'इस उपयोगकर्ता नाम और अपने चुने हुए पासवर्ड से साइन इन करें।',
    continue: 'साइन इन पर जाएँ',
  },
  script: {
    working: 'कृपया प्रतीक्षा करें…',
    checkFields: 'नीचे चिह्नित फ़ील्ड जाँचें।',
    codeResent: 'हमने नया कोड भेजा है।',
    resendIn: '{0} में नया कोड भेजें',
    rateLimited: 'बहुत अधिक प्रयास। {0} बाद फिर से प्रयास करें।',
    seconds: '{0} सेकंड',
    minutes: '{0} मिनट',
    network: 'सर्वर से संपर्क नहीं हो सका। अपना कनेक्शन जाँचें और फिर से प्रयास करें।',
    unavailable: 'सेवा अभी उपलब्ध नहीं है। थोड़ी देर में फिर से प्रयास करें।',
    failed: 'कुछ गलत हो गया। फिर से प्रयास करें।',
    reasons: {
      required: 'यह फ़ील्ड भरें।',
      too_long: 'यह बहुत लंबा है।',
      invalid_format: 'यह सही नहीं लगता।',
      'email.invalid_format': 'मान्य ईमेल पता दर्ज करें।',
      'phone.invalid_format': 'मान्य मोबाइल नंबर दर्ज करें।',
      'email.taken': 'इस ईमेल से एक खाता पहले से मौजूद है।',
      'phone.taken': 'इस मोबाइल नंबर से एक खाता पहले से मौजूद है।',
      'username.taken': 'यह उपयोगकर्ता नाम पहले से लिया जा चुका है।',
      'code.invalid': 'कोड गलत है या उसकी अवधि समाप्त हो गई है। उसे जाँचें या नया कोड भेजें।',
      'code.invalid_format': 'कोड के 6 अंक दर्ज करें।',
      'username.invalid_format': 'a–z, 0–9, ".", "_", "-", "@" में से कम से कम 3 अक्षर, शुरुआत अक्षर या अंक से।',
      'password.policy': 'कम से कम 10 अक्षरों का ऐसा पासवर्ड चुनें जो आपका उपयोगकर्ता नाम या ईमेल न हो।',
      proof_invalid: 'आपका सत्यापन समाप्त हो गया है। नया कोड भेजें।',
      used: 'इस कोड से पहले ही एक खाता बनाया जा चुका है। नया कोड भेजें।',
    },
  },
};

export const MESSAGES: Record<Language, typeof en> = { en, hi };
