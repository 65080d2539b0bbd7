/**
 * Waiting for things that give no event to await: a hub answering `/healthz` after its start, HAProxy taking a
 * server back, a gate's replica holding the roster. One loop for all of them, so each caller states only what it
 * waits for, how long, and what to say when it never happens.
 */

/** The wait ran out, or the process it depended on exited; the message says what was awaited and why it failed. */
export class PollTimeoutError extends Error {
  override readonly name = 'PollTimeoutError';
}

export interface PollOptions {
  readonly timeoutMs: number;
  /** pause between two checks (default 200 ms) */
  readonly intervalMs?: number;
  /**
   * The process whose readiness is awaited: once it exited, no later check can succeed, so the wait fails at once
   * instead of running out the clock.
   */
  readonly process?: { readonly running: boolean };
  /** context for the error's message: a process's last lines, which clients are still away… */
  readonly story?: () => string | Promise<string>;
}

/**
 * Calls `check` until it returns something other than `false` or `undefined`, and resolves with that. A check that
 * throws counts as not yet (a refused connection while a server starts).
 *
 * @example
 * await pollUntil('hub-1 to answer /healthz', () => fetch(`${url}/healthz`).then((r) => r.ok), { timeoutMs: 60_000, process: hub });
 */
export async function pollUntil<T>(what: string, check: () => T | false | undefined | Promise<T | false | undefined>, options: PollOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const fail = async (why: string) => {
    const story = options.story ? await options.story() : '';
    return new PollTimeoutError(`${why} waiting for ${what}${story ? `:\n${story}` : ''}`);
  };
  for (;;) {
    // Read before the check: a process that exits during a failing check is reported as exited, not as slow.
    const exited = options.process !== undefined && !options.process.running;
    const value = await Promise.resolve()
      .then(check)
      .catch(() => false as const);
    if (value !== false && value !== undefined) return value as T;
    if (exited) throw await fail('the process exited while');
    if (Date.now() > deadline) throw await fail(`timed out after ${options.timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
}
