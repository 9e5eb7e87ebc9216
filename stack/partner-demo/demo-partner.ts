/**
 * The demo partner (a digital banking platform, "Demo Bank"): its Keycloak client comes from
 * realm-config (clients/partner-demo-bank.json); `npm start` registers these settings in the BFF
 * (stack/stack.ts); its page and server are stack/partner-demo/server.ts.
 */
export const DEMO_PARTNER = {
  clientId: 'partner-demo-bank',
  name: 'Demo Bank',
  trustAuth: false,
  appKeys: [
    { appKey: 'demo-bank-standard', autoEnroll: false, kbaBypass: false },
    { appKey: 'demo-bank-consent', autoEnroll: true, kbaBypass: true },
  ],
} as const;

/**
 * The demo bank's page as browsers reach it (`npm start` prints localhost; 127.0.0.1 works too): the
 * origins that may frame the super component for DEMO_PARTNER.
 */
export const demoFrameOrigins = (port: number) => [`http://localhost:${port}`, `http://127.0.0.1:${port}`];

/** `--app-key` values of `npm run partner register` for DEMO_PARTNER's appKeys. */
export const demoAppKeyArgs = () =>
  DEMO_PARTNER.appKeys.flatMap((k) => ['--app-key', [k.appKey, ...(k.autoEnroll ? ['auto-enroll'] : []), ...(k.kbaBypass ? ['kba-bypass'] : [])].join(':')]);

export interface DemoCustomer {
  /** The bank's own id of the customer (the partner API's dbpUserId), by default. */
  dbpUserId: string;
  appKey: string;
  /** What the page says happens, and what a person needs to finish it. */
  story: string;
  pii: { firstName: string; lastName: string; dob: string; ssn?: string; address?: Record<string, string> };
}

/**
 * Jordan Lee is the upstream core's demo identity record (upstream/src/demo-data.ts), so the KBA
 * questions have answers; neither customer has an email or phone, so the demo can enroll any number
 * of customer ids without "account exists".
 */
export const DEMO_CUSTOMERS: Record<string, DemoCustomer> = {
  jordan: {
    dbpUserId: 'customer-000123',
    appKey: 'demo-bank-standard',
    story:
      'Standard enrollment: the first time, a prefilled form and security questions (answers: "Maple Avenue", "Honda"); afterwards, the credit overview at once.',
    pii: {
      firstName: 'Jordan',
      lastName: 'Lee',
      dob: '1990-04-12',
      ssn: '123-45-6789',
      address: { line1: '12 Maple Avenue', city: 'Springfield', state: 'IL', postalCode: '62701' },
    },
  },
  sam: {
    dbpUserId: 'customer-000456',
    appKey: 'demo-bank-consent',
    story: 'Consent enrollment (autoEnroll + kbaBypass): the first time, a consent page; afterwards, the credit overview at once.',
    pii: { firstName: 'Sam', lastName: 'Patel', dob: '1985-09-30' },
  },
};
