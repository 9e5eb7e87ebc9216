import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * The dev/test stand-in for the outside world's mailboxes and phones: a real SMTP server (Keycloak
 * and the BFF send to it) and an HTTP SMS gateway sink (the BFF's SMS adapter posts to it). Both
 * keep messages in memory and expose them over HTTP so people and tests can read them.
 */
export interface InboxMail {
  id: number;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  receivedAt: string;
}

export interface InboxSms {
  id: number;
  to: string;
  text: string;
  receivedAt: string;
}

export interface Inbox {
  smtpPort: number;
  httpUrl: string;
  mails: InboxMail[];
  sms: InboxSms[];
  close(): Promise<void>;
}

export async function startInbox(opts: { smtpPort: number; httpPort: number; host?: string; smsToken?: string }): Promise<Inbox> {
  const host = opts.host ?? '127.0.0.1';
  const mails: InboxMail[] = [];
  const sms: InboxSms[] = [];
  let nextId = 1;

  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    banner: 'identity-platform dev inbox',
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          mails.push({
            id: nextId++,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            receivedAt: new Date().toISOString(),
          });
          callback();
        })
        .catch((e: Error) => callback(e));
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.once('error', reject);
    smtp.listen(opts.smtpPort, host, () => resolve());
  });
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://inbox');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/api/mails') {
      const to = url.searchParams.get('to');
      return send(200, to ? mails.filter((m) => m.to.includes(to)) : mails);
    }
    if (req.method === 'GET' && url.pathname === '/api/sms') {
      const to = url.searchParams.get('to');
      return send(200, to ? sms.filter((m) => m.to === to) : sms);
    }
    if (req.method === 'DELETE' && url.pathname === '/api/messages') {
      mails.length = 0;
      sms.length = 0;
      return send(204, null);
    }
    if (req.method === 'POST' && url.pathname === '/sms') {
      if (opts.smsToken && req.headers.authorization !== `Bearer ${opts.smsToken}`) return send(401, { error: 'unauthorized' });
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      req.on('end', () => {
        try {
          const body = JSON.parse(raw) as { to?: unknown; text?: unknown };
          if (typeof body.to !== 'string' || typeof body.text !== 'string') return send(400, { error: 'to and text are required' });
          const msg = { id: nextId++, to: body.to, text: body.text, receivedAt: new Date().toISOString() };
          sms.push(msg);
          return send(202, { id: String(msg.id) });
        } catch {
          return send(400, { error: 'invalid JSON' });
        }
      });
      return undefined;
    }
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(renderPage(mails, sms));
    }
    return send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.httpPort, host, () => resolve());
  });
  let closed = false;
  const httpUrl = `http://${host}:${(server.address() as AddressInfo).port}`;

  return {
    smtpPort,
    httpUrl,
    mails,
    sms,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((r) => smtp.close(() => r()));
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function renderPage(mails: InboxMail[], sms: InboxSms[]): string {
  const mailRows = [...mails]
    .reverse()
    .map(
      (m) => `<article><h3>${escapeHtml(m.subject)}</h3><p>to ${escapeHtml(m.to.join(', '))} · ${m.receivedAt}</p><pre>${escapeHtml(m.text)}</pre></article>`,
    )
    .join('');
  const smsRows = [...sms]
    .reverse()
    .map((m) => `<article><p>to ${escapeHtml(m.to)} · ${m.receivedAt}</p><pre>${escapeHtml(m.text)}</pre></article>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>Dev inbox</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}article{border-bottom:1px solid #ddd;padding:.5rem 0}pre{white-space:pre-wrap}</style></head>
<body><h1>Dev inbox</h1><p>Mail and SMS the local stack sent. Refreshes every 5 s.</p>
<h2>Email (${mails.length})</h2>${mailRows || '<p>None yet.</p>'}<h2>SMS (${sms.length})</h2>${smsRows || '<p>None yet.</p>'}</body></html>`;
}
