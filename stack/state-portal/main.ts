import { startStatePortal } from './server.ts';

/** `npm start`'s stand-in state portal (stack/stack.ts starts it): see server.ts. */
const port = Number(process.env.STATE_PORTAL_PORT ?? 3200);
const bffPublicUrl = process.env.BFF_PUBLIC_URL ?? 'http://localhost:3000';
const portal = await startStatePortal({ port, bffPublicUrl, audience: process.env.STATE_LINK_AUDIENCE ?? `${bffPublicUrl}/state-link` });
console.log(`state portal (stand-in) on ${portal.url}, keys at ${portal.jwksUrl}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void portal.close().then(() => process.exit(0)));
