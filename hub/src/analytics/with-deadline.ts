/**
 * Waits for `work` at most `ms` milliseconds. Resolves `true` when it settled in time (either way: a rejection is
 * swallowed, the caller only learns that waiting is over), `false` when the deadline came first.
 *
 * @example
 * const drained = await withDeadline(batcher.drain(), 5_000);
 */
export async function withDeadline(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms), false);
  });
  try {
    return await Promise.race([work.then(() => true, () => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
