import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isDomainError } from '../kernel/errors.ts';
import { pngDeclaring } from '../../../test/support/images.ts';
import { checkUpload, renderPicture, sniffImageType } from './image.ts';

const limits = { maxBytes: 1_000_000, maxPixels: 4_000_000 };

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isDomainError(err)) throw new Error(`expected a refusal, got ${String(err)}`);
  return { code: err.code, reason: err.fields[0]?.reason };
};

describe('profile picture checks', () => {
  it('tells the type by content, not by name or header', async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    const jpeg = await sharp(png).jpeg().toBuffer();
    const webp = await sharp(png).webp().toBuffer();
    expect([sniffImageType(png), sniffImageType(jpeg), sniffImageType(webp)]).toEqual(['png', 'jpeg', 'webp']);
    expect(sniffImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
    expect(sniffImageType(Buffer.from('just text, named picture.png'))).toBeNull();
  });

  it('refuses text, a bomb by its declared pixels, an unreadable header and too many bytes, before decoding', async () => {
    expect(await refusal(checkUpload(Buffer.from('hello, not an image'), limits))).toEqual({ code: 'VALIDATION_FAILED', reason: 'unsupported_media_type' });
    expect(await refusal(checkUpload(pngDeclaring(100_000, 100_000), limits))).toEqual({ code: 'VALIDATION_FAILED', reason: 'too_many_pixels' });
    const truncated = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]);
    expect(await refusal(checkUpload(truncated, limits))).toEqual({ code: 'VALIDATION_FAILED', reason: 'corrupt_image' });
    expect(await refusal(checkUpload(Buffer.alloc(limits.maxBytes + 1, 0xff), limits))).toEqual({ code: 'PAYLOAD_TOO_LARGE', reason: 'too_large' });
    // Within the limit: taken.
    expect(await checkUpload(pngDeclaring(2000, 2000), limits)).toMatchObject({ type: 'png', width: 2000, height: 2000 });
  });

  it('re-encodes as a square WebP without EXIF, upright', async () => {
    const photo = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#aa3300' } })
      .jpeg()
      .withExif({ IFD0: { Copyright: 'secret-owner', ImageDescription: 'home address' } })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(photo).metadata()).exif).toBeDefined();
    const out = await renderPicture(photo, { maxPixels: 4_000_000, size: 64 });
    const meta = await sharp(out).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 64, height: 64 });
    expect(meta.exif).toBeUndefined();
    expect(out.includes(Buffer.from('secret-owner'))).toBe(false);
  });

  it('refuses a picture whose header reads but whose pixels do not decode, and one over the pixel limit', async () => {
    const bomb = pngDeclaring(3000, 3000);
    expect(await refusal(renderPicture(bomb, { maxPixels: 1_000_000, size: 64 }))).toEqual({ code: 'VALIDATION_FAILED', reason: 'too_many_pixels' });
    // Within the limit, but its pixel data is 64 zero bytes for 3000 x 3000 x 3: truncated.
    expect(await refusal(renderPicture(bomb, { maxPixels: 10_000_000, size: 64 }))).toEqual({ code: 'VALIDATION_FAILED', reason: 'corrupt_image' });
  });
});
