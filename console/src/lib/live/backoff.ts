/** How long to wait before reconnect attempt `attempt` (1-based). */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const defaultBackoff: BackoffPolicy = Object.freeze({ baseMs: 250, maxMs: 15_000 });

/**
 * Exponential backoff with "equal jitter": half the exponential step is fixed, half random. The fixed half keeps a
 * client from hammering a hub that is down; the random half spreads a whole control room's consoles so a restarted
 * hub is not hit by every reconnect in the same millisecond.
 * @example backoffDelay(3, { baseMs: 250, maxMs: 15_000 }, () => 0.5) // 750
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = defaultBackoff, random: () => number = Math.random): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}
