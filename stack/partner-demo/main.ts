// The demo partner as a process of the dev stack (stack/stack.ts starts it after the BFF).
import { startPartnerDemo } from './server.ts';

const env = process.env;
const demo = await startPartnerDemo({
  port: Number(env.PARTNER_DEMO_PORT ?? 3100),
  host: env.PARTNER_DEMO_HOST ?? '127.0.0.1',
  bffPublicUrl: env.BFF_PUBLIC_URL ?? 'http://localhost:3000',
  bffUrl: env.BFF_URL || undefined,
  keycloakUrl: env.KEYCLOAK_URL ?? 'http://localhost:8080',
  realm: env.PLATFORM_REALM ?? 'platform',
  clientSecret: env.DEMO_PARTNER_CLIENT_SECRET ?? 'dev-demo-bank-secret',
});
console.log(`demo partner (Demo Bank) on ${demo.url}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void demo.close().then(() => process.exit(0)));
