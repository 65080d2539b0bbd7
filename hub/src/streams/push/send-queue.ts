import type { Logger } from '../../log.ts';
import {
  claimDeliveries,
  fanOutStep,
  getPushJobs,
  getSubscriptions,
  recordOutcomes,
  type ClaimedDelivery,
  type DeliveryOutcome,
  type StoredPushJob,
  type StoredSubscription,
} from '../../store/repos/push-repo.ts';
import type { Store } from '../../store/store.ts';
import { EndpointRefused, type EndpointGuard } from './endpoint-guard.ts';
import { notificationFor } from './notifications.ts';
import type { PushMetrics } from './push-metrics.ts';
import { retryDelayMs, sendLimits } from './retry-policy.ts';
import type { PushSender } from './web-push-sender.ts';

/** Resolves on the event loop's next turn, after the I/O that is waiting. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface SendQueueOptions {
  readonly store: Store;
  readonly sender: PushSender;
  readonly guard: EndpointGuard;
  readonly metrics: PushMetrics;
  readonly log: Logger;
  /** requests this hub keeps in flight at most */
  readonly concurrency: number;
  /** told which pushes' figures changed (the control room's live counts) */
  readonly onFigures: (jobs: readonly string[]) => void;
  /** how often an idle hub looks for work other hubs queued or retries that came due (default 1 s) */
  readonly pollMs?: number;
  /** subscriptions one fan-out step adds (default 500) */
  readonly fanOutChunk?: number;
}

/**
 * The send queue of one hub process. The queue itself is in the Store (`push_deliveries`), shared by every hub: each
 * claims due deliveries for itself (see `claimDeliveries`), sends them with at most `concurrency` in flight, and
 * records what became of them in batches. Nothing here runs on the live path: claims, sends and records are async
 * work between frames, in slices of at most a few hundred rows.
 *
 * A hub learns of work three ways: `wake()` (a push it queued itself, a bus signal from another hub), the end of
 * its own sends while there is a backlog, and a poll every `pollMs` (retries that came due, leases of a hub that
 * died).
 */
export class SendQueue {
  readonly #o: SendQueueOptions;
  readonly #jobs = new Map<string, StoredPushJob>();
  #inFlight = 0;
  #pumping = false;
  #again = false;
  /** the last claim was full: there is probably more due */
  #backlog = false;
  #closed = false;
  #poll: NodeJS.Timeout | undefined;
  #outcomes: DeliveryOutcome[] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  readonly #idleWaiters: (() => void)[] = [];

  constructor(options: SendQueueOptions) {
    this.#o = options;
  }

  start(): void {
    this.#poll = setInterval(() => this.wake(), this.#o.pollMs ?? 1000);
    this.#poll.unref();
    this.wake();
  }

  /** Looks for work soon (coalesced: many wakes in one tick are one look). */
  wake(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    setImmediate(() => void this.#pump());
  }

  /** Requests in flight from this hub. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Stops claiming, lets the requests in flight finish (up to `graceMs`) and records their outcomes. A delivery still
   * in flight after that stays claimed until its lease runs out; then another hub sends it.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.#closed = true;
    clearInterval(this.#poll);
    if (this.#inFlight > 0) {
      await Promise.race([new Promise<void>((resolve) => this.#idleWaiters.push(resolve)), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    }
    await this.#flush();
  }

  async #pump(): Promise<void> {
    try {
      do {
        this.#again = false;
        // Fan-out first, a step at a time: sends start after the first step, while later steps continue.
        const step = await fanOutStep(this.#o.store.db, { chunk: this.#o.fanOutChunk ?? 500 });
        if (step) {
          this.#again = true;
          this.#o.onFigures([step.job]);
        }
        const free = this.#o.concurrency - this.#inFlight;
        if (!this.#closed && free > 0) {
          const claimed = await claimDeliveries(this.#o.store.db, { limit: free, leaseMs: sendLimits.leaseMs });
          this.#backlog = claimed.length === free;
          if (claimed.length > 0) await this.#dispatch(claimed);
        }
      } while (this.#again && !this.#closed);
    } catch (error) {
      this.#o.log.warn({ err: error }, 'push queue: claiming failed; trying again at the next poll');
    } finally {
      this.#pumping = false;
    }
  }

  async #dispatch(claimed: readonly ClaimedDelivery[]): Promise<void> {
    const db = this.#o.store.db;
    const now = Date.now();
    for (const [id, job] of this.#jobs) if (job.expiresAt < now) this.#jobs.delete(id);
    const unknown = [...new Set(claimed.map((c) => c.job))].filter((id) => !this.#jobs.has(id));
    for (const [id, job] of await getPushJobs(db, unknown)) this.#jobs.set(id, job);
    const subscriptions = await getSubscriptions(db, claimed.map((c) => c.subscription));
    for (const delivery of claimed) {
      this.#inFlight++;
      this.#o.metrics.inFlight.inc();
      void this.#deliver(delivery, this.#jobs.get(delivery.job), subscriptions.get(delivery.subscription))
        .catch((error: unknown): DeliveryOutcome => {
          this.#o.log.error({ err: error, job: delivery.job }, 'push delivery failed unexpectedly');
          return { ...delivery, requested: false, result: 'failed' };
        })
        .then((outcome) => this.#settled(outcome));
      // Encrypting a payload (ECDH, HKDF, AES-GCM) and writing its request are synchronous: starting a whole claim
      // in one tick held the event loop for 300-400 ms on a busy machine (the control ping's p99 went from 7 ms to
      // 475 ms while 1,000 pushes went out). One send per turn of the loop lets every socket's frames in between.
      await nextTurn();
    }
  }

  #settled(outcome: DeliveryOutcome): void {
    this.#inFlight--;
    this.#o.metrics.inFlight.dec();
    this.#outcomes.push(outcome);
    if (this.#outcomes.length >= sendLimits.recordBatch) void this.#flush();
    else this.#flushTimer ??= setTimeout(() => void this.#flush(), sendLimits.recordAfterMs);
    if (this.#inFlight === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    // Claim again once a quarter of the slots are free (not per finished send: one query per request would be a
    // query per request), or when everything has finished.
    if (this.#backlog && (this.#inFlight === 0 || this.#o.concurrency - this.#inFlight >= Math.max(1, this.#o.concurrency / 4))) this.wake();
  }

  async #deliver(delivery: ClaimedDelivery, job: StoredPushJob | undefined, subscription: StoredSubscription | undefined): Promise<DeliveryOutcome> {
    const skip = (result: 'expired' | 'failed', reason: string): DeliveryOutcome => {
      this.#o.metrics.skipped.inc({ reason });
      return { ...delivery, requested: false, result };
    };
    // The push was removed with its event (the delivery row went with it), or a subscription was removed meanwhile.
    if (!job) return skip('failed', 'push_gone');
    if (!subscription) return skip('expired', 'subscription_gone');
    const remainingSeconds = Math.floor((job.expiresAt - Date.now()) / 1000);
    if (remainingSeconds <= 0) return skip('failed', 'out_of_time');
    try {
      this.#o.guard.check(subscription.endpoint);
    } catch (error) {
      if (!(error instanceof EndpointRefused)) throw error;
      return skip('failed', 'endpoint_refused');
    }
    const started = performance.now();
    const result = await this.#o.sender.send({
      endpoint: subscription.endpoint,
      p256dh: subscription.p256dh,
      auth: subscription.auth,
      payload: notificationFor(job.notification, subscription),
      // A retry keeps the original deadline: the push service holds it no longer than the first try asked.
      ttlSeconds: Math.min(job.ttlSeconds, remainingSeconds),
      urgency: job.urgency,
      topic: job.topic,
    });
    this.#o.metrics.requestSeconds.observe((performance.now() - started) / 1000);
    this.#o.metrics.requests.inc({ outcome: result.kind });
    if (result.kind === 'accepted') return { ...delivery, requested: true, result: 'accepted' };
    if (result.kind === 'expired') {
      this.#o.metrics.subscriptions.inc({ change: 'expired' });
      return { ...delivery, requested: true, result: 'expired' };
    }
    if (result.kind === 'failed') {
      this.#o.log.info({ endpointOrigin: new URL(subscription.endpoint).origin, status: result.status, reason: result.reason, job: job.id }, 'push refused');
      return { ...delivery, requested: true, result: 'failed' };
    }
    const at = Date.now() + retryDelayMs(delivery.attempt, result.retryAfterMs);
    if (delivery.attempt >= sendLimits.attempts || at >= job.expiresAt) {
      this.#o.log.info({ endpointOrigin: new URL(subscription.endpoint).origin, status: result.status, reason: result.reason, job: job.id, attempts: delivery.attempt }, 'push given up');
      return { ...delivery, requested: true, result: 'failed' };
    }
    return { ...delivery, requested: true, result: 'retry', at: new Date(at) };
  }

  /** Records what has settled, one batch at a time, in order. */
  #flush(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#flushing = this.#flushing.then(async () => {
      const batch = this.#outcomes.splice(0);
      if (batch.length === 0) return;
      try {
        this.#o.onFigures(await recordOutcomes(this.#o.store.db, batch));
      } catch (error) {
        // Kept and tried again: unrecorded, the deliveries would be sent a second time once their lease ran out
        // (the push service would then replace the first copy by its Topic, but the figures would count it twice).
        this.#o.log.error({ err: error, outcomes: batch.length }, 'push outcomes not recorded; retrying');
        this.#outcomes.unshift(...batch);
        if (!this.#closed) this.#flushTimer ??= setTimeout(() => void this.#flush(), sendLimits.recordRetryMs);
      }
    });
    return this.#flushing;
  }
}
