import type { PushDelivery } from '@opshub/schema';

/** The later of two views of one push: each count the larger, fanned out once either says so. */
export function mergeDelivery(a: PushDelivery | undefined, b: PushDelivery): PushDelivery {
  if (!a) return b;
  return {
    ...b,
    targeted: Math.max(a.targeted, b.targeted),
    fannedOut: a.fannedOut || b.fannedOut,
    sent: Math.max(a.sent, b.sent),
    accepted: Math.max(a.accepted, b.accepted),
    expired: Math.max(a.expired, b.expired),
    failed: Math.max(a.failed, b.failed),
  };
}

/** Every subscription the push went to has an outcome. */
export function isDone(d: PushDelivery): boolean {
  return d.fannedOut && pending(d) === 0;
}

/** Subscriptions without an outcome yet (queued, in flight, or waiting for a retry). */
export function pending(d: PushDelivery): number {
  return Math.max(0, d.targeted - d.accepted - d.expired - d.failed);
}
