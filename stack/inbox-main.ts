// The dev inbox as a process of its own (`node stack/inbox-main.ts`), for docker-compose.yml: there
// it runs in a container, so INBOX_HOST=0.0.0.0 to be reachable from Keycloak, the BFF and the host.
// `npm start` does not use this file; it starts the inbox in-process (stack/stack.ts).
import { startInbox } from './inbox.ts';
import { devSettings } from './settings.ts';

const settings = devSettings(); // SMTP_PORT and INBOX_PORT, with the native stack's defaults
const inbox = await startInbox({
  smtpPort: settings.smtpPort,
  httpPort: settings.inboxPort,
  host: process.env.INBOX_HOST || '127.0.0.1',
});
console.log(`dev inbox: SMTP on ${inbox.smtpPort}, messages at ${inbox.httpUrl}`);

const stop = () => void inbox.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
