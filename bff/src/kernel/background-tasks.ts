import { safeError, type Logger } from './logger.ts';

/**
 * Work a request starts and does not wait for (a registration's account and mail, decision 0019), so
 * that the answer's content and timing do not depend on what the work finds. A task runs after the
 * current turn of the event loop (the answer leaves first); its failure is logged, nobody awaits it.
 * `idle()` waits for the tasks running now: shutdown drains them before the pools close, tests wait
 * on it instead of sleeping. Tasks live in this process only: one lost to a crash is repeated by the
 * person (the caller's contract says so).
 */
export class BackgroundTasks {
  readonly #running = new Set<Promise<void>>();
  readonly #logger: Logger;

  constructor(deps: { logger: Logger }) {
    this.#logger = deps.logger;
  }

  run(name: string, task: () => Promise<void>, logger: Logger = this.#logger): void {
    const running = (async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      try {
        await task();
      } catch (err) {
        // Outcomes a task expects are its own to handle; what escapes is a fault.
        logger.error({ err: safeError(err), task: name }, 'background task failed');
      }
    })();
    this.#running.add(running);
    void running.finally(() => this.#running.delete(running));
  }

  /** Resolves once no task is running (tasks started meanwhile included). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }
}
