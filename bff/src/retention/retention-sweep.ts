import { safeError, type Logger } from '../kernel/logger.ts';

/**
 * One kind of data that outlives its use: `run` deletes what is past keeping at `now` (or, for
 * `account_creation_reseal`, re-seals what is not sealed with the active key), returns how many.
 */
export interface RetentionTask {
  name: string;
  run(now: Date): Promise<number>;
}

export interface RetentionSweepDeps {
  tasks: RetentionTask[];
  intervalMs: number;
  logger: Logger;
  now?: () => Date;
}

/**
 * Deletes durable rows that are past keeping (docs/decisions/0015-retention-sweep.md): expired flows,
 * identifier handoffs of flows that are gone, delivered outbox rows after their retention. Every BFF
 * process runs it; the deletes are plain `DELETE ... WHERE`, so two at once do no harm. A failing task
 * is logged (no row content) and tried again on the next pass; the others still run.
 */
export class RetentionSweep {
  readonly #deps: RetentionSweepDeps;
  readonly #now: () => Date;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(deps: RetentionSweepDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  /** First pass after one interval: a process that is starting has better things to do. */
  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** One pass over every task; how many rows each deleted (-1: it failed). */
  async runOnce(): Promise<Record<string, number>> {
    const now = this.#now();
    const deleted: Record<string, number> = {};
    for (const task of this.#deps.tasks) {
      try {
        deleted[task.name] = await task.run(now);
        if (deleted[task.name]! > 0) this.#deps.logger.info({ task: task.name, deleted: deleted[task.name] }, 'retention sweep');
      } catch (err) {
        deleted[task.name] = -1;
        this.#deps.logger.warn({ task: task.name, err: safeError(err) }, 'retention sweep: task failed; retrying next pass');
      }
    }
    return deleted;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce().finally(() => this.#schedule());
    }, this.#deps.intervalMs);
    this.#timer.unref();
  }
}
