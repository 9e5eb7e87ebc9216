import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { DomainError } from '../../kernel/errors.ts';
import type { ObjectStorage } from '../../ports/object-storage.ts';

export interface S3ObjectStorageSettings {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style addresses (`endpoint/bucket/key`): what S3-protocol servers other than AWS need. */
  forcePathStyle: boolean;
  timeoutMs?: number;
}

/**
 * The ObjectStorage port over `@aws-sdk/client-s3`: AWS S3 in production, the stack's S3-protocol
 * server (s3rver) in development and tests (decision 0038). Vendor errors become DEPENDENCY_UNAVAILABLE.
 */
export class S3ObjectStorage implements ObjectStorage {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(s: S3ObjectStorageSettings) {
    this.#bucket = s.bucket;
    this.#client = new S3Client({
      endpoint: s.endpoint,
      region: s.region,
      forcePathStyle: s.forcePathStyle,
      credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
      // Checksums only where S3 requires them: the SDK's default trailer checksums are not spoken by
      // every S3-protocol server, and our bodies are small whole buffers (Content-MD5 is not needed either).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
      requestHandler: { requestTimeout: s.timeoutMs ?? 10_000, connectionTimeout: 3000 },
    });
  }

  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    await this.#call(() => this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: body, ContentType: contentType })));
  }

  async get(key: string): Promise<{ body: Buffer; contentType: string } | null> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      const bytes = await out.Body!.transformToByteArray();
      return { body: Buffer.from(bytes), contentType: out.ContentType ?? 'application/octet-stream' };
    } catch (err) {
      if (err instanceof NoSuchKey || (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404)) return null;
      throw unavailable(err);
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.#call(() =>
        this.#client.send(new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
      );
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0;
    for (;;) {
      const keys = await this.list(prefix, 1000);
      if (keys.length === 0) return deleted;
      await this.delete(keys);
      deleted += keys.length;
    }
  }

  async list(prefix: string, max = 1000): Promise<string[]> {
    const out = await this.#call(() => this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, MaxKeys: max })));
    return (out.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
  }

  async ping(): Promise<void> {
    await this.#call(() => this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket })));
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw unavailable(err);
    }
  }
}

const unavailable = (err: unknown) => new DomainError('DEPENDENCY_UNAVAILABLE', 'The object storage is unavailable', { cause: err });
