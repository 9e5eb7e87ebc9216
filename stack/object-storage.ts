import { mkdirSync } from 'node:fs';
import S3rver from 's3rver';

/**
 * The dev and test object store (decision 0038): s3rver, an S3-protocol server in Node that keeps
 * objects in a directory, run in this process like the dev inbox. The BFF talks to it with the same
 * `@aws-sdk/client-s3` it uses against AWS S3. It checks neither signatures nor access keys: a
 * stand-in for the protocol, not for S3's access control.
 */
export interface ObjectStore {
  url: string;
  port: number;
  bucket: string;
  close(): Promise<void>;
}

export async function startObjectStore(opts: { port: number; directory: string; bucket: string; host?: string }): Promise<ObjectStore> {
  mkdirSync(opts.directory, { recursive: true });
  const server = new S3rver({
    address: opts.host ?? '127.0.0.1',
    port: opts.port,
    silent: true,
    directory: opts.directory,
    // The bucket exists from the start (the BFF never creates buckets: in production that is the operator's).
    configureBuckets: [{ name: opts.bucket }],
  });
  const { port } = await server.run();
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    bucket: opts.bucket,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
    },
  };
}
