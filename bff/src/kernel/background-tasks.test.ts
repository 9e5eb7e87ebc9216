import { describe, expect, it } from 'vitest';
import { BackgroundTasks } from './background-tasks.ts';
import { DomainError } from './errors.ts';
import { createLogger } from './logger.ts';

function tasks() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
  return { background: new BackgroundTasks({ logger }), lines };
}

describe('BackgroundTasks', () => {
  it('starts a task only after the current turn (the answer leaves first), and idle() waits for it', async () => {
    const { background } = tasks();
    const order: string[] = [];
    background.run('t', async () => {
      order.push('task');
      await new Promise((r) => setTimeout(r, 20));
      order.push('task done');
    });
    order.push('answered');
    await background.idle();
    expect(order).toEqual(['answered', 'task', 'task done']);
  });

  it('logs a failure (no secret in the message) and goes on; idle() also waits for tasks started meanwhile', async () => {
    const { background, lines } = tasks();
    let second = false;
    background.run('first', async () => {
      background.run('second', async () => {
        await new Promise((r) => setTimeout(r, 10));
        second = true;
      });
      throw new DomainError('UPSTREAM_UNAVAILABLE', 'The upstream core is unavailable');
    });
    await background.idle();
    expect(second).toBe(true);
    const failure = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'background task failed');
    expect(failure).toMatchObject({ level: 'error', task: 'first', err: { errorCode: 'UPSTREAM_UNAVAILABLE' } });
  });
});
