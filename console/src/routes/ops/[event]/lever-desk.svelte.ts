/** One lever about to be pulled: what the confirmation says, and what confirming does. */
export interface LeverRequest {
  readonly title: string;
  readonly detail: string;
  /** the confirm button's label, e.g. "Hold North gate" */
  readonly confirm: string;
  readonly tone: 'danger' | 'primary';
  /** a message to edit before confirming (shown on the gate screen), with its starting text */
  readonly message?: { readonly label: string; readonly initial: string };
  run(message: string | undefined): Promise<unknown>;
}

/**
 * The control room's levers share one confirmation: a lever asks, the dialog beside the page shows the request, and
 * the command is sent only on confirm. One click to ask, one to confirm; nothing changes on a stray click.
 * @example desk.ask({ title: 'Put North gate on hold?', detail: '…', confirm: 'Hold', tone: 'danger', run: () => live.command('gate.state', …) });
 */
export class LeverDesk {
  current: LeverRequest | undefined = $state.raw();

  ask(request: LeverRequest): void {
    this.current = request;
  }

  done(): void {
    this.current = undefined;
  }
}
