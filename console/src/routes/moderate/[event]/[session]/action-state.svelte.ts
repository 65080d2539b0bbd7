import { CommandError } from '$lib/live/live-connection.ts';

/**
 * A moderator action's progress and refusal, for one panel: `busy` while a command runs, `error` with the hub's
 * reason when it is refused (a refused command changed nothing, so the panel shows the state as it was).
 * @example const action = new ActionState(); await action.run(() => qa.approve(id));
 */
export class ActionState {
  busy = $state(false);
  error: string | undefined = $state();

  async run(action: () => Promise<unknown>): Promise<boolean> {
    this.busy = true;
    this.error = undefined;
    try {
      await action();
      return true;
    } catch (err) {
      this.error = err instanceof CommandError ? `Refused (${err.code}): ${err.message}` : err instanceof Error ? err.message : String(err);
      return false;
    } finally {
      this.busy = false;
    }
  }
}
