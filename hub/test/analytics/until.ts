/**
 * Polls an observable condition until it holds, failing after `timeoutMs`. For conditions with no event to await,
 * such as "the interval timer has inserted the batch".
 *
 * @example
 * await until(() => analytics.stats().inserted === 3, { what: 'the interval flush' });
 */
export async function until(condition: () => boolean | Promise<boolean>, options: { timeoutMs?: number; what?: string } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'a condition'}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
