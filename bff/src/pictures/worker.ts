import { isDomainError } from '../kernel/errors.ts';
import { safeError, type Logger } from '../kernel/logger.ts';
import type { IdentityDirectory } from '../ports/identity-directory.ts';
import type { ObjectStorage } from '../ports/object-storage.ts';
import { renderPicture } from './image.ts';
import { incomingKey, pictureKey, type PictureJob, type PictureStore } from './picture-store.ts';
import { pictureUrl } from './pictures.ts';

export interface PictureWorkerDeps {
  store: PictureStore;
  storage: ObjectStorage;
  directory: Pick<IdentityDirectory, 'updateUser'>;
  logger: Logger;
  /** The image step (tests replace it, e.g. by one that never returns: a worker that died mid-job). */
  render?: (bytes: Buffer) => Promise<Buffer>;
  settings: {
    publicUrl: string;
    maxPixels: number;
    /** Side of the stored square picture, in pixels. */
    size: number;
    /** How long a worker holds a job; a crashed worker's job is taken again after it. */
    leaseMs: number;
    /** Pause between passes when there was nothing to do. */
    intervalMs: number;
    /** Claims of one job before it fails (a file that kills its worker every time). */
    maxAttempts: number;
    /** Jobs leased per pass. */
    batchSize: number;
  };
  now?: () => number;
}

/**
 * Re-encodes uploaded profile pictures (decision 0038): a background job of every BFF process.
 * Each pass leases due jobs (picture-store.ts, SKIP LOCKED), and for each: reads the upload,
 * decodes it under the pixel limit, writes the square WebP (`pictures/<job id>.webp`), makes it the
 * user's picture if the job is still wanted, sets the Keycloak attribute behind the `picture` claim,
 * and deletes what it replaced. Every step can run twice: a job whose worker died is done again
 * once its lease is over; a dependency that is down hands the job back for a later pass.
 */
export class PictureWorker {
  readonly #d: PictureWorkerDeps;
  readonly #now: () => number;
  readonly #render: (bytes: Buffer) => Promise<Buffer>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(deps: PictureWorkerDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#render = deps.render ?? ((bytes) => renderPicture(bytes, { maxPixels: deps.settings.maxPixels, size: deps.settings.size }));
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** An upload just arrived here: a pass now rather than after the interval. */
  wake(): void {
    if (this.#stopped || this.#running) return;
    clearTimeout(this.#timer);
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce()
        .catch((err: unknown) => {
          this.#d.logger.warn({ err: safeError(err) }, 'pictures: pass failed; retrying');
          return 0;
        })
        .then((worked) => {
          this.#running = undefined;
          this.#schedule(worked > 0 ? 0 : this.#d.settings.intervalMs);
        });
    }, delayMs);
    this.#timer.unref();
  }

  /** One pass: how many jobs were taken. */
  async runOnce(): Promise<number> {
    const { store, settings } = this.#d;
    const jobs = await store.claim(settings.batchSize, settings.leaseMs);
    for (const job of jobs) await this.#work(job);
    return jobs.length;
  }

  async #work(job: PictureJob): Promise<void> {
    const { store, storage, settings, logger } = this.#d;
    if (job.attempts > settings.maxAttempts) {
      // Claimed this often and never finished: its file kills or stalls the worker. Refused, kept no longer.
      logger.warn({ jobId: job.id, attempts: job.attempts }, 'pictures: job failed too often; refused');
      await store.finish(job.id, { status: 'failed', reason: 'processing_failed' });
      await storage.delete([incomingKey(job.id)]).catch(() => undefined);
      return;
    }
    try {
      const upload = await storage.get(incomingKey(job.id));
      if (!upload) {
        // Superseded or removed meanwhile (its upload deleted), or lost: nothing to make.
        await store.finish(job.id, { status: 'failed', reason: 'upload_missing' });
        return;
      }
      let picture: Buffer;
      try {
        picture = await this.#render(upload.body);
      } catch (err) {
        if (!isDomainError(err) || err.code !== 'VALIDATION_FAILED') throw err;
        await store.finish(job.id, { status: 'failed', reason: err.fields[0]?.reason ?? 'corrupt_image' });
        await storage.delete([incomingKey(job.id)]);
        return;
      }
      await storage.put(pictureKey(job.id), picture, 'image/webp');
      const { installed, replaced } = await store.install(job.id, job.userId);
      if (!installed) {
        // Another upload or a removal came first: this one is not wanted.
        await storage.delete([pictureKey(job.id), incomingKey(job.id)]);
        return;
      }
      await this.#d.directory.updateUser(job.userId, { attributes: { picture: [pictureUrl(settings.publicUrl, job.id)] } });
      await store.finish(job.id, { status: 'done' });
      await storage.delete([incomingKey(job.id), ...(replaced && replaced !== job.id ? [pictureKey(replaced)] : [])]);
    } catch (err) {
      if (isDomainError(err) && err.code === 'NOT_FOUND') {
        // The account is gone: its pictures go with it (the retention sweep deletes the row's picture).
        await store.finish(job.id, { status: 'failed', reason: 'account_gone' });
        return;
      }
      // A dependency down (object store, Keycloak, PostgreSQL): the job is tried again after a pause.
      logger.warn({ jobId: job.id, err: safeError(err) }, 'pictures: job failed; retrying later');
      await store.retryAt(job.id, new Date(this.#now() + Math.min(60_000, 2000 * 2 ** (job.attempts - 1))));
    }
  }
}
