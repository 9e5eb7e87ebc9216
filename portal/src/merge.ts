import { explain, explainField, Problem, SessionEnded } from './api.ts';
import type { Notes } from './card.ts';
import { say } from './card.ts';
import { busy, clearFieldErrors, field, h, showFieldError } from './dom.ts';
import { format, type Messages } from './messages.ts';
import type { Shell } from './profile.ts';

/**
 * "Merge another account" (issue 19 §3, decision 0040): the person proves the other account with its
 * sign-in details, sees what moves to this account and what is closed, and confirms. The flow is the
 * BFF's (`/api/v1/account-merges`, a persisted flow): these screens only show the state it answers.
 * A merge that stopped part way (a service down) is finished with "Finish the merge".
 */
interface Merge {
  id: string;
  state: 'proof' | 'preview' | 'confirmed' | 'interrupted' | 'merged' | 'cancelled' | 'locked';
  triesLeft: number;
  preview: {
    other: { username: string; name: string | null };
    moves: {
      identifiers: { kind: 'email' | 'phone'; masked: string; action: 'move' | 'replace' }[];
      links: { provider: string }[];
      partnerMappings: { appKey: string; count: number }[];
      memberships: { tenant: string; name: string }[];
    };
    closes: {
      identifiers: { kind: 'email' | 'phone'; masked: string }[];
      links: { provider: string }[];
      memberships: { tenant: string; name: string }[];
      leavesCustodian: boolean;
    };
  } | null;
}

/** Where the merge screens go when they are done: the profile, with a notice in the language on screen. */
export type BackToProfile = (notes?: () => Notes) => void;

let current: Merge | undefined;

/** A sentence with `{0}` filled by a value that is not translated (a username, a masked address). */
function fill(text: string, value: string): (Node | string)[] {
  const [before = '', after = ''] = text.split('{0}');
  return [before, h('span', { translate: 'no', class: 'value' }, value), after];
}

export async function startMerge(shell: Shell, back: BackToProfile): Promise<void> {
  try {
    current = await shell.callApi<Merge>('POST', '/api/v1/account-merges', {});
    draw(shell, back);
  } catch (err) {
    if (err instanceof SessionEnded) shell.showSessionEnded();
    else say('alert', explain(err, shell.m()))?.focus();
  }
}

function draw(shell: Shell, back: BackToProfile, notes: Notes = {}): void {
  shell.setRedraw(() => draw(shell, back, notes));
  if (!current) back();
  else if (current.state === 'preview') previewScreen(shell, back, notes);
  else if (current.state === 'confirmed' || current.state === 'interrupted') interruptedScreen(shell, back, notes);
  else proofScreen(shell, back, notes);
}

function cancelButton(shell: Shell, back: BackToProfile, label?: string): HTMLButtonElement {
  const m = shell.m();
  return h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      id: 'merge-cancel',
      onclick: () => {
        const flow = current;
        current = undefined;
        // Best effort: an unconfirmed merge changes nothing and expires by itself.
        if (flow && (flow.state === 'proof' || flow.state === 'preview'))
          void shell.callApi('POST', `/api/v1/account-merges/${flow.id}/cancel`, {}).catch(() => undefined);
        back(() => ({ notice: shell.m().merge.cancelled }));
      },
    },
    label ?? m.cancel,
  );
}

function proofScreen(shell: Shell, back: BackToProfile, notes: Notes, showOtp = false): void {
  const m = shell.m();
  const locked = current?.state === 'locked';
  const form: HTMLFormElement = h(
    'form',
    { id: 'merge-proof', class: 'stack', novalidate: true, 'aria-describedby': 'merge-lead' },
    field({ id: 'merge-login', label: m.merge.login, autocomplete: 'off', required: true }),
    field({ id: 'merge-password', label: m.merge.password, type: 'password', autocomplete: 'off', required: true }),
    showOtp ? field({ id: 'merge-otp', label: m.merge.otp, autocomplete: 'one-time-code', inputmode: 'numeric', required: true }) : null,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'merge-continue' }, m.merge.continue), cancelButton(shell, back)),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    say('alert', undefined);
    const value = (id: string) => (form.elements.namedItem(id) as HTMLInputElement | null)?.value ?? '';
    void busy(form, async () => {
      try {
        current = await shell.callApi<Merge>('POST', `/api/v1/account-merges/${current!.id}/password`, {
          login: value('merge-login').trim(),
          password: value('merge-password'),
          ...(showOtp ? { otp: value('merge-otp').trim() } : {}),
        });
        draw(shell, back);
      } catch (err) {
        proofProblem(shell, back, form, err);
      }
    });
  });
  const heading = shell.screen(
    m.merge.title,
    locked ? { alert: m.merge.locked } : notes,
    h('p', { class: 'lead', id: 'merge-lead' }, m.merge.proofLead),
    locked ? h('div', { class: 'actions' }, cancelButton(shell, back, m.merge.back)) : form,
  );
  heading.focus();
}

function proofProblem(shell: Shell, back: BackToProfile, form: HTMLFormElement, err: unknown): void {
  if (err instanceof SessionEnded) {
    shell.showSessionEnded();
    return;
  }
  const m = shell.m();
  if (!(err instanceof Problem)) {
    say('alert', explain(err, m))?.focus();
    return;
  }
  const tries = typeof err.body.triesLeft === 'number' ? String(err.body.triesLeft) : '';
  const reason = err.body.reason;
  if (reason === 'password_tries_exhausted') {
    current = current ? { ...current, state: 'locked' } : current;
    proofScreen(shell, back, {});
    return;
  }
  if (reason === 'same_account' || reason === 'already_merged') {
    say('alert', reason === 'same_account' ? m.merge.sameAccount : m.merge.alreadyMerged)?.focus();
    return;
  }
  const otp = err.fields.find((f) => f.field === 'otp' && f.reason === 'required');
  if (otp && !form.querySelector('#merge-otp')) {
    const login = (form.elements.namedItem('merge-login') as HTMLInputElement).value;
    proofScreen(shell, back, {}, true);
    (document.getElementById('merge-login') as HTMLInputElement).value = login;
    showFieldError(document, 'merge-otp', m.merge.codeRequired);
    setTimeout(() => document.getElementById('merge-otp')?.focus(), 0);
    return;
  }
  const inputs: Record<string, string> = { login: 'merge-login', password: 'merge-password', otp: 'merge-otp' };
  let first: string | undefined;
  for (const f of err.fields) {
    const id = inputs[f.field];
    if (!id) continue;
    const text = f.reason === 'wrong_credentials' ? format(m.merge.wrong, tries) : f.field === 'otp' ? m.merge.codeRequired : explainField(f, m);
    if (showFieldError(form, id, text)) first ??= id;
  }
  if (first) setTimeout(() => document.getElementById(first!)?.focus(), 0);
  else say('alert', explain(err, m))?.focus();
}

function previewScreen(shell: Shell, back: BackToProfile, notes: Notes): void {
  const m = shell.m();
  const p = current!.preview!;
  const idp = (provider: string) => m.idps[provider] ?? provider;
  const item = (text: string, value: string) => h('li', {}, ...fill(text, value));
  const moves = [
    ...p.moves.identifiers.map((i) => item((i.action === 'replace' ? m.merge.identifierReplace : m.merge.identifierMove)[i.kind], i.masked)),
    ...p.moves.links.map((l) => item(m.merge.linkMove, idp(l.provider))),
    ...p.moves.partnerMappings.map((x) => item(m.merge.partnerMove, x.appKey)),
    ...p.moves.memberships.map((x) => item(m.merge.membershipJoin, m.states[x.tenant] ?? x.name)),
  ];
  const closes = [
    item(m.merge.closedAccount, p.other.username),
    ...p.closes.identifiers.map((i) => item(m.merge.identifierRetire[i.kind], i.masked)),
    ...p.closes.links.map((l) => item(m.merge.linkKeep, idp(l.provider))),
    ...p.closes.memberships.map((x) => item(m.merge.membershipKeep, m.states[x.tenant] ?? x.name)),
  ];
  const actions: HTMLDivElement = h(
    'div',
    { class: 'actions' },
    h(
      'button',
      {
        type: 'button',
        class: 'primary',
        id: 'merge-confirm',
        onclick: () => void busy(actions, () => run(shell, back, 'confirm')),
      },
      m.merge.confirm,
    ),
    cancelButton(shell, back),
  );
  shell
    .screen(
      m.merge.previewTitle,
      notes,
      h('p', { class: 'lead', id: 'merge-preview-lead' }, ...fill(m.merge.previewLead, p.other.username)),
      h(
        'section',
        { 'aria-labelledby': 'merge-moves-heading' },
        h('h2', { id: 'merge-moves-heading' }, m.merge.moves),
        moves.length ? h('ul', { id: 'merge-moves' }, moves) : h('p', { class: 'hint' }, m.merge.movesNothing),
      ),
      h(
        'section',
        { 'aria-labelledby': 'merge-closes-heading' },
        h('h2', { id: 'merge-closes-heading' }, m.merge.closes),
        h('ul', { id: 'merge-closes' }, closes),
        p.closes.leavesCustodian ? h('p', { class: 'hint', id: 'merge-leaves-custodian' }, m.merge.leavesCustodian) : null,
      ),
      actions,
    )
    .focus();
}

function interruptedScreen(shell: Shell, back: BackToProfile, notes: Notes): void {
  const m = shell.m();
  const actions: HTMLDivElement = h(
    'div',
    { class: 'actions' },
    h('button', { type: 'button', class: 'primary', id: 'merge-resume', onclick: () => void busy(actions, () => run(shell, back, 'resume')) }, m.merge.resume),
  );
  shell.screen(m.merge.interruptedTitle, { alert: notes.alert ?? m.merge.interrupted }, actions).focus();
}

/** Confirm or resume: merged goes back to the profile; a merge that stopped shows where it stands. */
async function run(shell: Shell, back: BackToProfile, step: 'confirm' | 'resume'): Promise<void> {
  const flow = current!;
  const username = flow.preview?.other.username ?? '';
  say('notice', shell.m().merge.merging);
  try {
    current = await shell.callApi<Merge>('POST', `/api/v1/account-merges/${flow.id}/${step}`, {});
    if (current.state === 'merged') {
      current = undefined;
      back(() => ({ notice: format(shell.m().merge.merged, username) }));
      return;
    }
    draw(shell, back);
  } catch (err) {
    if (err instanceof SessionEnded) {
      shell.showSessionEnded();
      return;
    }
    try {
      current = await shell.callApi<Merge>('GET', `/api/v1/account-merges/${flow.id}`);
    } catch {
      // Keep what is on screen; the alert says why.
    }
    const refused = err instanceof Problem && err.body.reason === 'merge_refused';
    const m: Messages = shell.m();
    if (current?.state === 'interrupted' || current?.state === 'confirmed') draw(shell, back, { alert: refused ? m.merge.refused : m.merge.interrupted });
    else say('alert', explain(err, m))?.focus();
  }
}
