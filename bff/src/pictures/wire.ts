import type { Feature } from '../http/feature.ts';
import type { Logger } from '../kernel/logger.ts';
import type { AccessTokens } from '../ports/access-tokens.ts';
import type { IdentityDirectory } from '../ports/identity-directory.ts';
import type { ObjectStorage } from '../ports/object-storage.ts';
import type { PictureStore } from './picture-store.ts';
import { Pictures } from './pictures.ts';
import { PICTURE_UPLOAD_PATH, pictureRouter } from './routes.ts';
import { PictureWorker } from './worker.ts';

export interface PicturesWiring {
  config: {
    publicUrl: string;
    clientId: string;
    userApiTokenClients: readonly string[];
    pictureMaxBytes: number;
    pictureMaxPixels: number;
    pictureSize: number;
    pictureWorkerEnabled: boolean;
    pictureJobLeaseMs: number;
    pictureWorkerIntervalMs: number;
    pictureUploadWaitMs: number;
  };
  /** Built with the core (the account service's `forgetUser` uses it too). */
  pictureStore: PictureStore;
  objectStorage: ObjectStorage;
  identityDirectory: Pick<IdentityDirectory, 'getUser' | 'updateUser'>;
  accessTokens: AccessTokens;
  logger: Logger;
}

/**
 * Profile pictures (decision 0038): the routes, the use cases and the worker, a background job of
 * every BFF process (PICTURE_WORKER_ENABLED).
 */
export function wirePictures(w: PicturesWiring): Feature & { pictures: Pictures; worker: PictureWorker } {
  const { config } = w;
  const logger = w.logger.child({ component: 'pictures' });
  const worker = new PictureWorker({
    store: w.pictureStore,
    storage: w.objectStorage,
    directory: w.identityDirectory,
    logger,
    settings: {
      publicUrl: config.publicUrl,
      maxPixels: config.pictureMaxPixels,
      size: config.pictureSize,
      leaseMs: config.pictureJobLeaseMs,
      intervalMs: config.pictureWorkerIntervalMs,
      maxAttempts: 3,
      batchSize: 4,
    },
  });
  const pictures = new Pictures({
    store: w.pictureStore,
    storage: w.objectStorage,
    directory: w.identityDirectory,
    wakeWorker: () => worker.wake(),
    logger,
    settings: {
      publicUrl: config.publicUrl,
      maxBytes: config.pictureMaxBytes,
      maxPixels: config.pictureMaxPixels,
      uploadWaitMs: config.pictureUploadWaitMs,
    },
  });
  return {
    routers: [
      pictureRouter({
        pictures,
        accessTokens: w.accessTokens,
        directory: w.identityDirectory,
        bearer: { audience: config.clientId, clients: config.userApiTokenClients },
        maxBytes: config.pictureMaxBytes,
      }),
    ],
    jobs: config.pictureWorkerEnabled ? [worker] : [],
    streamedBodies: [
      { path: PICTURE_UPLOAD_PATH, type: 'image/*', method: 'PUT' },
      { path: PICTURE_UPLOAD_PATH, type: 'application/octet-stream', method: 'PUT' },
    ],
    pictures,
    worker,
  };
}
