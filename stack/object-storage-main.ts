// The dev object store (s3rver) as a process of its own (`node stack/object-storage-main.ts`), for
// docker-compose.yml: S3_HOST=0.0.0.0 there, to be reachable from the BFF's container. `npm start`
// does not use this file; it starts the store in-process (stack/stack.ts).
import path from 'node:path';
import { startObjectStore } from './object-storage.ts';
import { runDir } from './paths.ts';
import { devSettings } from './settings.ts';

const settings = devSettings(); // S3_PORT and S3_BUCKET, with the native stack's defaults
const store = await startObjectStore({
  port: settings.s3Port ?? 4568,
  bucket: settings.s3Bucket ?? 'platform-pictures',
  directory: path.join(runDir, 'object-store'),
  host: process.env.S3_HOST || '127.0.0.1',
});
console.log(`object store (s3rver): ${store.url}, bucket ${store.bucket}`);

const stop = () => void store.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
