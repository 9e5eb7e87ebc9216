import { randomBytes, randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../bff/src/kernel/logger.ts';
import { PictureStore } from '../../bff/src/pictures/picture-store.ts';
import { Pictures } from '../../bff/src/pictures/pictures.ts';
import { PictureWorker } from '../../bff/src/pictures/worker.ts';
import { startTestBff, type TestBff } from '../support/bff.ts';
import { useBrowser } from '../support/browser.ts';
import { checkPage, openContext } from '../support/page-check.ts';
import { pngDeclaring } from '../support/images.ts';
import { adminFor } from '../support/keycloak-admin.ts';
import { decodeJwt } from '../support/oidc.ts';

/**
 * Profile pictures (issue 19 §4, decision 0038) against the stack's S3-protocol server (s3rver) and
 * PostgreSQL job queue: upload, re-encode (EXIF gone), the `picture` claim, replace, remove, every
 * bad file refused with nothing stored, a worker that dies mid-job, and a deleted account's pictures.
 *
 * This file's BFF runs no picture worker: the workers here are the same class over the same queue
 * (as another BFF process's would be), so the test decides which one takes a job.
 */
type Json = Record<string, any>;
const stack = inject('stack');
const realm = stack.settings.platformRealm;
const admin = adminFor(stack);
const PASSWORD = stack.settings.demoUserPassword;
const MAX_BYTES = 300_000;
const SIZE = 96;
const silent = createLogger({ level: 'silent' });

let bff: TestBff;
let worker: PictureWorker;
const newWorker = (opts: { now?: () => number; render?: (b: Buffer) => Promise<Buffer> } = {}) =>
  new PictureWorker({
    store: opts.now ? new PictureStore({ orm: bff.container.orm, now: () => new Date(opts.now!()) }) : bff.container.pictureStore,
    storage: bff.container.objectStorage,
    directory: bff.container.identityDirectory,
    logger: silent,
    ...(opts.render ? { render: opts.render } : {}),
    settings: { publicUrl: bff.url, maxPixels: 4_000_000, size: SIZE, leaseMs: 30_000, intervalMs: 100, maxAttempts: 3, batchSize: 4 },
    ...(opts.now ? { now: opts.now } : {}),
  });

beforeAll(async () => {
  expect(stack.settings.s3Port, 'the stack runs the object store').toBeDefined();
  bff = await startTestBff(stack, {
    PICTURE_WORKER_ENABLED: 'false',
    PICTURE_MAX_BYTES: String(MAX_BYTES),
    PICTURE_MAX_PIXELS: '4000000',
    PICTURE_SIZE: String(SIZE),
    PICTURE_UPLOAD_WAIT_MS: '20000',
  });
  worker = newWorker();
  worker.start();
});
afterAll(async () => {
  await worker?.stop();
  await bff?.close();
});

async function call(method: string, path: string, opts: { bearer?: string; body?: Buffer | string; type?: string } = {}) {
  const res = await fetch(`${bff.url}${path}`, {
    method,
    headers: {
      ...(opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {}),
      ...(opts.type ? { 'content-type': opts.type } : {}),
    },
    ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : new Uint8Array(opts.body) } : {}),
  });
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? ((await res.json()) as Json) : Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body: body as Json & Buffer };
}

/** A confirmed account with a password, signed in through the BFF's user API. */
async function person(): Promise<{ id: string; token: string; email: string }> {
  const email = `pictures.${randomBytes(4).toString('hex')}@example.com`;
  const created = await bff.container.accounts.create(
    { firstName: 'Pic', lastName: 'Ture', email, emailVerified: true, phoneVerified: false, password: PASSWORD, signUpType: 'self' },
    { idempotencyKey: randomUUID() },
  );
  return { id: created.userId, token: await login(email), email };
}
async function login(email: string): Promise<string> {
  const res = await call('POST', '/api/v1/auth/login', { body: JSON.stringify({ email, password: PASSWORD }), type: 'application/json' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.accessToken as string;
}

const photo = (color: string, opts: { width?: number; height?: number } = {}) =>
  sharp({ create: { width: opts.width ?? 320, height: opts.height ?? 240, channels: 3, background: color } })
    .jpeg()
    .withExif({ IFD0: { Copyright: 'exif-secret-owner', ImageDescription: 'exif-home-address' } })
    .toBuffer();

const objects = async (prefix: string) => bff.container.objectStorage.list(prefix);
const keycloakUser = async (id: string) => (await admin.get<Json>(`/${realm}/users/${id}`))!;
const idOf = (url: string) => url.split('/').pop()!;

describe('profile pictures', () => {
  it('re-encodes an upload to a square WebP without EXIF, serves it, and names it in the picture claim', async () => {
    const p = await person();
    expect((await call('GET', '/api/v1/user/picture', { bearer: p.token })).body).toEqual({ status: 'none' });

    const put = await call('PUT', '/api/v1/user/picture', { bearer: p.token, body: await photo('#2255aa'), type: 'image/jpeg' });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toEqual({ status: 'ready', url: expect.stringMatching(new RegExp(`^${bff.url}/api/v1/pictures/[0-9a-f-]{36}$`)) });
    const url = put.body.url as string;

    // Served by the BFF without a token, re-encoded.
    const image = await fetch(url);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/webp');
    expect(image.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const bytes = Buffer.from(await image.arrayBuffer());
    const meta = await sharp(bytes).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: SIZE, height: SIZE });
    expect(meta.exif).toBeUndefined();
    expect(bytes.includes(Buffer.from('exif-secret-owner'))).toBe(false);
    // What the bucket holds is the re-encoded picture, and the upload is gone.
    expect(await objects(`pictures/${idOf(url)}`)).toEqual([`pictures/${idOf(url)}.webp`]);
    expect(await objects(`incoming/${idOf(url)}`)).toEqual([]);

    // The Keycloak attribute behind the claim, and the claim in a new token.
    expect((await keycloakUser(p.id)).attributes?.picture).toEqual([url]);
    expect(decodeJwt<Json>(await login(p.email)).picture).toBe(url);
    expect((await call('GET', '/api/v1/user/picture', { bearer: p.token })).body).toEqual({ status: 'ready', url });
  });

  it('replaces a picture: the old address is 404 and its object deleted', async () => {
    const p = await person();
    const first = (await call('PUT', '/api/v1/user/picture', { bearer: p.token, body: await photo('#aa2200'), type: 'image/jpeg' })).body.url as string;
    const png = await sharp({ create: { width: 50, height: 80, channels: 4, background: '#00aa0080' } })
      .png()
      .toBuffer();
    const second = await call('PUT', '/api/v1/user/picture', { bearer: p.token, body: png, type: 'image/png' });
    expect(second.status).toBe(200);
    expect(second.body.url).not.toBe(first);
    expect((await fetch(first)).status).toBe(404);
    expect((await fetch(second.body.url as string)).status).toBe(200);
    expect(await objects(`pictures/${idOf(first)}`)).toEqual([]);
    expect((await keycloakUser(p.id)).attributes?.picture).toEqual([second.body.url]);
  });

  it('refuses bad files with a clear 4xx and stores nothing', async () => {
    const p = await person();
    const good = (await call('PUT', '/api/v1/user/picture', { bearer: p.token, body: await photo('#123456'), type: 'image/jpeg' })).body.url as string;
    const before = { pictures: await objects('pictures/'), incoming: await objects('incoming/') };
    const refused = async (body: Buffer | string, type: string) => {
      const res = await call('PUT', '/api/v1/user/picture', { bearer: p.token, body, type });
      return { status: res.status, code: res.body.code, reason: res.body.fields?.[0]?.reason };
    };

    // A text file sent as a PNG (its name and type say PNG, its content does not).
    expect(await refused('just some text in picture.png', 'image/png')).toEqual({ status: 400, code: 'VALIDATION_FAILED', reason: 'unsupported_media_type' });
    // An SVG (script-capable) is not taken either.
    expect(await refused('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 'image/svg+xml')).toMatchObject({
      status: 400,
      reason: 'unsupported_media_type',
    });
    // Over the byte limit: refused by Content-Length, before the body is read.
    expect(await refused(Buffer.alloc(MAX_BYTES + 1, 0xff), 'image/jpeg')).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE', reason: 'too_large' });
    // A decompression bomb: a tiny PNG declaring 100 000 x 100 000 pixels.
    const bomb = pngDeclaring(100_000, 100_000);
    expect(bomb.length).toBeLessThan(200);
    expect(await refused(bomb, 'image/png')).toEqual({ status: 400, code: 'VALIDATION_FAILED', reason: 'too_many_pixels' });
    // A huge but honest image (over the pixel limit, under the byte limit).
    const huge = await sharp({ create: { width: 2500, height: 2000, channels: 3, background: '#ffffff' } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    expect(huge.length).toBeLessThan(MAX_BYTES);
    expect(await refused(huge, 'image/png')).toEqual({ status: 400, code: 'VALIDATION_FAILED', reason: 'too_many_pixels' });
    // Corrupt: its header reads (1000 x 1000), its pixel data does not decode; the worker refuses it.
    expect(await refused(pngDeclaring(1000, 1000), 'image/png')).toEqual({ status: 400, code: 'VALIDATION_FAILED', reason: 'corrupt_image' });
    // A JPEG cut in half.
    const jpeg = await photo('#654321', { width: 400, height: 400 });
    expect(await refused(jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'image/jpeg')).toMatchObject({ status: 400, reason: 'corrupt_image' });
    // JSON is not a picture.
    expect(await refused('{"picture":"x"}', 'application/json')).toMatchObject({ status: 400, reason: 'unsupported_media_type' });

    // Nothing stored, nothing changed: the same objects, the same picture.
    expect(await objects('pictures/')).toEqual(expect.arrayContaining(before.pictures));
    expect((await objects('pictures/')).filter((k) => !before.pictures.includes(k))).toEqual([]);
    expect((await objects('incoming/')).filter((k) => !before.incoming.includes(k))).toEqual([]);
    expect((await call('GET', '/api/v1/user/picture', { bearer: p.token })).body).toEqual({ status: 'ready', url: good });
  });

  it('needs the person’s own token; nobody removes another’s picture', async () => {
    const [a, b] = [await person(), await person()];
    const url = (await call('PUT', '/api/v1/user/picture', { bearer: a.token, body: await photo('#aa00aa'), type: 'image/jpeg' })).body.url as string;
    expect((await call('PUT', '/api/v1/user/picture', { body: await photo('#000000'), type: 'image/jpeg' })).status).toBe(401);
    expect((await call('DELETE', '/api/v1/user/picture')).status).toBe(401);
    expect((await call('DELETE', '/api/v1/user/picture', { bearer: `${a.token}x` })).status).toBe(401);
    expect((await call('DELETE', '/api/v1/user/picture', { bearer: b.token })).status).toBe(204);
    expect((await fetch(url)).status).toBe(200);
    // An address that is not a picture id, and one nobody has.
    expect((await call('GET', '/api/v1/pictures/not-a-uuid')).status).toBe(400);
    expect((await call('GET', `/api/v1/pictures/${randomUUID()}`)).status).toBe(404);
  });

  it('removes a picture: claim, address and object gone', async () => {
    const p = await person();
    const url = (await call('PUT', '/api/v1/user/picture', { bearer: p.token, body: await photo('#0088ff'), type: 'image/jpeg' })).body.url as string;
    expect((await call('DELETE', '/api/v1/user/picture', { bearer: p.token })).status).toBe(204);
    expect((await fetch(url)).status).toBe(404);
    expect(await objects(`pictures/${idOf(url)}`)).toEqual([]);
    expect((await keycloakUser(p.id)).attributes?.picture ?? []).toEqual([]);
    expect(decodeJwt<Json>(await login(p.email)).picture).toBeUndefined();
    expect((await call('GET', '/api/v1/user/picture', { bearer: p.token })).body).toEqual({ status: 'none' });
  });

  it('takes a job again when the worker holding it died mid-job, once its lease is over', async () => {
    await worker.stop();
    try {
      const p = await person();
      let clock = Date.now();
      // No worker running: the upload is kept and queued, and answered 202 once the wait is over.
      const waiting = startTestBff(stack, { PICTURE_WORKER_ENABLED: 'false', PICTURE_UPLOAD_WAIT_MS: '0' });
      const quick = await waiting;
      try {
        const put = await fetch(`${quick.url}/api/v1/user/picture`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${p.token}`, 'content-type': 'image/jpeg' },
          body: new Uint8Array(await photo('#ff8800')),
        });
        expect(put.status).toBe(202);
        expect(await put.json()).toEqual({ status: 'processing', url: null });
      } finally {
        await quick.close();
      }
      const [job] = await bff.container.em
        .getConnection()
        .execute<{ id: string }[]>(`select id from picture_job where user_id = ? and status = 'pending'`, [p.id], 'all');
      expect(job).toBeDefined();

      // Worker A takes the job and dies in the middle of it (its image step never returns).
      let started!: () => void;
      const inRender = new Promise<void>((resolve) => {
        started = resolve;
      });
      const dying = newWorker({
        now: () => clock,
        render: () => {
          started();
          return new Promise<Buffer>(() => undefined);
        },
      });
      void dying.runOnce();
      await inRender;

      // While its lease runs, nobody else takes it.
      const other = newWorker({ now: () => clock });
      expect(await other.runOnce()).toBe(0);
      expect((await call('GET', '/api/v1/user/picture', { bearer: p.token })).body).toEqual({ status: 'processing', url: null });

      // Once the lease is over, another worker takes it and finishes it.
      clock += 31_000;
      expect(await other.runOnce()).toBeGreaterThanOrEqual(1);
      const state = (await call('GET', '/api/v1/user/picture', { bearer: p.token })).body;
      expect(state).toEqual({ status: 'ready', url: `${bff.url}/api/v1/pictures/${job!.id}` });
      expect((await fetch(state.url as string)).status).toBe(200);
      expect(await objects(`incoming/${job!.id}`)).toEqual([]);
      const [row] = await bff.container.em
        .getConnection()
        .execute<{ status: string; attempts: number }[]>(`select status, attempts from picture_job where id = ?`, [job!.id], 'all');
      expect(row).toEqual({ status: 'done', attempts: 2 });
    } finally {
      worker.start();
    }
  });

  it("deletes a deleted account's pictures: through the BFF at once, deleted in Keycloak by the retention sweep", async () => {
    const p = await person();
    const url = (await call('PUT', '/api/v1/user/picture', { bearer: p.token, body: await photo('#338833'), type: 'image/jpeg' })).body.url as string;
    expect((await call('DELETE', '/api/v1/user', { bearer: p.token })).status).toBe(204);
    expect((await fetch(url)).status).toBe(404);
    expect(await objects(`pictures/${idOf(url)}`)).toEqual([]);

    // Deleted in Keycloak's admin console: the BFF is not told; the sweep finds the account gone.
    const q = await person();
    const url2 = (await call('PUT', '/api/v1/user/picture', { bearer: q.token, body: await photo('#883333'), type: 'image/jpeg' })).body.url as string;
    await admin.delete(`/${realm}/users/${q.id}`);
    expect((await fetch(url2)).status).toBe(200);
    const sweep = new Pictures({
      store: bff.container.pictureStore,
      storage: bff.container.objectStorage,
      directory: bff.container.identityDirectory,
      wakeWorker: () => undefined,
      logger: silent,
      settings: { publicUrl: bff.url, maxBytes: MAX_BYTES, maxPixels: 4_000_000, uploadWaitMs: 0 },
    });
    let deleted = 0;
    // Batches of the users checked longest ago, until this one's turn has come.
    for (let pass = 0; pass < 20 && (await objects(`pictures/${idOf(url2)}`)).length > 0; pass++) deleted += await sweep.sweepDeleted(50);
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(await objects(`pictures/${idOf(url2)}`)).toEqual([]);
    expect((await fetch(url2)).status).toBe(404);
  });
});

describe('profile pictures in the portal', () => {
  const browser = useBrowser();
  let portalBff: TestBff;
  beforeAll(async () => {
    // At the stack's BFF URL: the portal client's redirect URIs name it.
    portalBff = await startTestBff(stack, { PICTURE_WORKER_ENABLED: 'false', PICTURE_SIZE: String(SIZE) }, { atStackUrl: true });
  });
  afterAll(async () => {
    await portalBff?.close();
  });

  for (const [lang, viewport] of [
    ['en', 'desktop'],
    ['hi', 'phone'],
  ] as const) {
    it(`shows, uploads, refuses and removes the picture (${lang}, ${viewport})`, async () => {
      const p = await person();
      const user = await keycloakUser(p.id);
      await admin.put(`/${realm}/users/${p.id}`, { ...user, attributes: { ...user.attributes, locale: [lang] } });
      const username = user.username as string;
      const allow = [username, p.email, 'PNG', 'JPEG', 'WebP', 'GIF'];
      const context = await openContext(browser(), { viewport, lang });
      const page = await context.newPage();
      try {
        await page.goto(`${stack.settings.bffPublicUrl}/portal/`);
        await page.locator('#sign-in').click();
        await page.waitForURL(new RegExp(`^${stack.keycloakUrl}/realms/${realm}/`));
        await page.locator('#username').fill(username);
        await page.locator('#kc-login').click();
        await page.locator('#password').fill(PASSWORD);
        await page.locator('#kc-login').click();
        await page.locator('#picture-none').waitFor();
        expect(await page.locator('#picture-img').count()).toBe(0);
        expect(await page.locator('label[for="picture-file"]').count()).toBe(1);
        await checkPage(page, { name: 'portal-picture-none', lang, allow });

        // A good picture: shown at once, with its alt text.
        await page.setInputFiles('#picture-file', { name: 'me.jpg', mimeType: 'image/jpeg', buffer: await photo('#3366cc') });
        await page.locator('#picture-upload').click();
        await page.locator('#picture-img').waitFor();
        expect(await page.locator('#picture-img').getAttribute('alt')).toBe(lang === 'en' ? 'Your profile picture' : 'आपकी प्रोफ़ाइल फ़ोटो');
        const src = (await page.locator('#picture-img').getAttribute('src'))!;
        expect(await page.locator('#picture-img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(SIZE);
        await checkPage(page, { name: 'portal-picture-uploaded', lang, allow });

        // A text file named .png: refused in words, the picture kept.
        await page.setInputFiles('#picture-file', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a picture at all') });
        await page.locator('#picture-upload').click();
        await page.locator('#picture-message[role="alert"]').waitFor();
        expect(await page.locator('#picture-message').innerText()).toBe(
          lang === 'en' ? 'This file is not a PNG, JPEG, WebP or GIF image.' : 'यह फ़ाइल PNG, JPEG, WebP या GIF फ़ोटो नहीं है।',
        );
        expect(await page.locator('#picture-img').getAttribute('src')).toBe(src);
        await checkPage(page, { name: 'portal-picture-refused', lang, allow });

        // Removed: gone from the page and from its address.
        await page.locator('#picture-remove').click();
        await page.locator('#picture-none').waitFor();
        expect((await fetch(src)).status).toBe(404);
        await checkPage(page, { name: 'portal-picture-removed', lang, allow });
      } finally {
        await context.close();
      }
    });
  }
});
