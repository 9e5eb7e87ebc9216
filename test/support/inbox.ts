import { expect } from 'vitest';
import type { E2EStack } from '../setup/stack.ts';

export type InboxKind = 'mails' | 'sms';

/** The messages the dev inbox holds for `to`, oldest first. */
export async function inboxMessages(stack: E2EStack, kind: InboxKind, to: string): Promise<{ text: string }[]> {
  return (await (await fetch(`${stack.inboxUrl}/api/${kind}?to=${encodeURIComponent(to)}`)).json()) as { text: string }[];
}

/** The 6-digit code of the newest message to `to` after the first `notBefore` ones, waiting until one arrives. */
export async function latestCode(stack: E2EStack, kind: InboxKind, to: string, notBefore = 0): Promise<string> {
  let code: string | undefined;
  await expect
    .poll(
      async () => {
        const fresh = (await inboxMessages(stack, kind, to)).slice(notBefore);
        code = fresh.length > 0 ? /\b(\d{6})\b/.exec(fresh[fresh.length - 1]!.text)?.[1] : undefined;
        return code;
      },
      { timeout: 20_000 },
    )
    .toMatch(/^\d{6}$/);
  return code!;
}
