import { setTimeout as sleep } from 'node:timers/promises';
import { DomainError } from '../kernel/errors.ts';
import { safeError, type Logger } from '../kernel/logger.ts';
import type { IdentityDirectory } from '../ports/identity-directory.ts';
import type { ObjectStorage } from '../ports/object-storage.ts';
import { badPicture, checkUpload, type ImageLimits } from './image.ts';
import { incomingKey, pictureKey, type PictureStore } from './picture-store.ts';

export interface PicturesDeps {
  store: PictureStore;
  storage: ObjectStorage;
  directory: Pick<IdentityDirectory, 'updateUser' | 'getUser'>;
  /** Started work of the local worker now rather than at its next pass. */
  wakeWorker: () => void;
  logger: Logger;
  settings: ImageLimits & {
    /** The BFF's public URL: pictures are served at `<publicUrl>/api/v1/pictures/<id>`. */
    publicUrl: string;
    /** How long an upload waits for its job before answering 202 (processing). */
    uploadWaitMs: number;
  };
}

export type PictureState = { status: 'none' } | { status: 'ready'; url: string } | { status: 'processing'; url: string | null };

/** The public address of a picture: what the `picture` claim and the portal show. */
export const pictureUrl = (publicUrl: string, pictureId: string) => `${publicUrl.replace(/\/$/, '')}/api/v1/pictures/${pictureId}`;

/**
 * Profile pictures (decision 0038), the use cases the routes call. An upload is checked here
 * (type by content, bytes, declared pixels), kept in the object store as it came, and queued; a
 * worker of any BFF process re-encodes it (`worker.ts`). The upload waits a little for its job, so
 * a picture that does not decode is still refused with a 400; a slow job answers 202.
 */
export class Pictures {
  readonly #d: PicturesDeps;

  constructor(deps: PicturesDeps) {
    this.#d = deps;
  }

  async state(userId: string): Promise<PictureState> {
    const [current, pending] = await Promise.all([this.#d.store.pictureOf(userId), this.#d.store.pendingOf(userId)]);
    const url = current ? pictureUrl(this.#d.settings.publicUrl, current) : null;
    if (pending) return { status: 'processing', url };
    return url ? { status: 'ready', url } : { status: 'none' };
  }

  async upload(userId: string, bytes: Buffer): Promise<PictureState> {
    await checkUpload(bytes, this.#d.settings);
    const jobId = crypto.randomUUID();
    // The upload first, then the job: a worker never finds a job without its file.
    await this.#d.storage.put(incomingKey(jobId), bytes, 'application/octet-stream');
    const { superseded } = await this.#d.store.enqueue(userId, jobId);
    this.#d.wakeWorker();
    // Uploads replaced before their job ran (a worker that holds one finds it gone and lets it be).
    if (superseded.length > 0) await this.#d.storage.delete(superseded.map(incomingKey)).catch(() => undefined);
    const deadline = Date.now() + this.#d.settings.uploadWaitMs;
    for (let pause = 25; Date.now() < deadline; pause = Math.min(pause * 2, 250)) {
      await sleep(pause);
      const job = await this.#d.store.get(jobId);
      if (!job || job.status === 'superseded') break;
      if (job.status === 'done') return { status: 'ready', url: pictureUrl(this.#d.settings.publicUrl, jobId) };
      if (job.status === 'failed') {
        throw job.reason === 'too_many_pixels'
          ? badPicture('too_many_pixels', 'The image has too many pixels')
          : job.reason === 'corrupt_image'
            ? badPicture('corrupt_image', 'The image cannot be decoded; it may be damaged')
            : new DomainError('VALIDATION_FAILED', 'The image could not be processed', {
                fields: [{ field: 'body', reason: job.reason ?? 'processing_failed', message: 'The image could not be processed' }],
              });
      }
    }
    return this.state(userId);
  }

  /** Removes the user's picture (and stops a pending upload): the claim, the objects, the row. */
  async remove(userId: string): Promise<void> {
    await this.#d.directory.updateUser(userId, { attributes: { picture: [] } });
    await purgePictures(this.#d, userId);
  }

  /** The picture's bytes for `GET /api/v1/pictures/{id}`; NOT_FOUND once it is replaced or removed. */
  async read(pictureId: string): Promise<{ body: Buffer; contentType: string }> {
    const gone = new DomainError('NOT_FOUND', 'No such picture');
    if (!(await this.#d.store.isCurrent(pictureId))) throw gone;
    const object = await this.#d.storage.get(pictureKey(pictureId));
    if (!object) throw gone;
    return object;
  }

  /**
   * Retention (decision 0015): of `batch` users with a picture, the ones whose account is gone
   * (deleted in Keycloak's consoles, or by the BFF while the object store was down) lose it.
   */
  async sweepDeleted(batch: number): Promise<number> {
    let deleted = 0;
    for (const userId of await this.#d.store.nextToCheck(batch)) {
      if (await this.#d.directory.getUser(userId)) continue;
      await purgePictures(this.#d, userId);
      deleted++;
    }
    return deleted;
  }
}

/**
 * Deletes a user's picture and pending uploads: the objects first, then the rows, then whatever a
 * racing upload added. A failure leaves the row, so a retry (or the retention sweep) still knows
 * what to delete.
 */
export async function purgePictures(d: { store: PictureStore; storage: ObjectStorage }, userId: string): Promise<void> {
  const keys = ({ pictureId, jobIds }: { pictureId: string | null; jobIds: string[] }) => [
    ...(pictureId ? [pictureKey(pictureId)] : []),
    ...jobIds.map(incomingKey),
  ];
  const before = keys(await d.store.allOf(userId));
  if (before.length > 0) await d.storage.delete(before);
  const after = keys(await d.store.removeAllOf(userId)).filter((k) => !before.includes(k));
  if (after.length > 0) await d.storage.delete(after);
}

/**
 * A deleted account's pictures go with it: the account service's `forgetUser`, right after a delete
 * through the BFF. Never throws: the retention sweep (`Pictures.sweepDeleted`) finishes what failed.
 */
export async function forgetPictures(d: { store: PictureStore; storage: ObjectStorage; logger: Logger }, userId: string): Promise<void> {
  try {
    await purgePictures(d, userId);
  } catch (err) {
    d.logger.warn({ err: safeError(err) }, "pictures: could not delete a deleted account's picture; the retention sweep will");
  }
}
