import sharp, { type Metadata } from 'sharp';
import { DomainError } from '../kernel/errors.ts';

/** What a profile picture may be: checked at upload (cheap, headers only) and when it is re-encoded. */
export interface ImageLimits {
  /** Largest upload, in bytes (larger: PAYLOAD_TOO_LARGE). */
  maxBytes: number;
  /** Most pixels (width x height) an image may declare: a decompression bomb is refused before it is decoded. */
  maxPixels: number;
}

export type ImageType = 'png' | 'jpeg' | 'webp' | 'gif';

/** The type of an image by its first bytes (magic numbers), whatever the Content-Type or name said. */
export function sniffImageType(bytes: Buffer): ImageType | null {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (bytes.length >= 6 && (bytes.toString('latin1', 0, 6) === 'GIF87a' || bytes.toString('latin1', 0, 6) === 'GIF89a')) return 'gif';
  return null;
}

/** A refusal of the picture itself: 400 with the body named, a stable reason. */
export function badPicture(reason: 'unsupported_media_type' | 'corrupt_image' | 'too_many_pixels', message: string): DomainError {
  return new DomainError('VALIDATION_FAILED', message, { fields: [{ field: 'body', reason, message }] });
}

export const pictureTooLarge = (maxBytes: number) =>
  new DomainError('PAYLOAD_TOO_LARGE', `A profile picture may have at most ${maxBytes} bytes`, {
    fields: [{ field: 'body', reason: 'too_large', message: `At most ${maxBytes} bytes` }],
    details: { maxBytes },
  });

/**
 * The checks of an upload before anything is stored: a PNG, JPEG, WebP or GIF by content, whose
 * header sharp can read and whose declared dimensions are within the pixel limit. Only headers are
 * read here: the decode happens in the worker (`renderPicture`), under the same pixel limit.
 */
export async function checkUpload(bytes: Buffer, limits: ImageLimits): Promise<{ type: ImageType; width: number; height: number }> {
  if (bytes.length > limits.maxBytes) throw pictureTooLarge(limits.maxBytes);
  const type = sniffImageType(bytes);
  if (!type) throw badPicture('unsupported_media_type', 'The file is not a PNG, JPEG, WebP or GIF image');
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw badPicture('corrupt_image', 'The image cannot be read; it may be damaged');
  }
  const { width, height } = meta;
  if (!width || !height) throw badPicture('corrupt_image', 'The image cannot be read; it may be damaged');
  if (width * height > limits.maxPixels) {
    throw badPicture('too_many_pixels', `The image is ${width} x ${height} pixels; at most ${limits.maxPixels} pixels are taken`);
  }
  return { type, width, height };
}

/**
 * The stored picture: decoded (at most `maxPixels`, first frame only), turned upright by its EXIF
 * orientation, cropped to a square of `size` pixels and written as WebP without any metadata (sharp
 * writes none unless asked: EXIF, GPS position and ICC profile are gone). A file that does not decode
 * throws `corrupt_image` (or `too_many_pixels`): permanent, the job fails.
 */
export async function renderPicture(bytes: Buffer, opts: { maxPixels: number; size: number }): Promise<Buffer> {
  try {
    return await sharp(bytes, { limitInputPixels: opts.maxPixels, failOn: 'error', pages: 1 })
      .rotate()
      .resize(opts.size, opts.size, { fit: 'cover', withoutEnlargement: false })
      .webp({ quality: 82 })
      .toBuffer();
  } catch (err) {
    if (err instanceof Error && /pixel limit/i.test(err.message)) throw badPicture('too_many_pixels', 'The image has too many pixels');
    throw badPicture('corrupt_image', 'The image cannot be decoded; it may be damaged');
  }
}
