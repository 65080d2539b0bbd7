import { randomUUID } from 'node:crypto';
import { retryDelay } from './retry-delay.ts';
import { withDeadline } from './with-deadline.ts';

/** A slice of the queue on its way to the backend. Retried as is: same items, same order, same token. */
export interface Batch<T, P = readonly T[]> {
  /** the batch's items in the form its {@link BatchAccumulator} gives them: an array by default */
  readonly items: P;
  /** how many items */
  readonly count: number;
  /** Fixed when the batch is cut, so the backend can recognise a retry of something it already stored. */
  readonly token: string;
  /** failed attempts so far */
  attempts: number;
}

/**
 * Collects pushed items into the form a batch is sent in. The default keeps them in an array; a column builder can
 * write each item into the batch's encoded form as it is pushed instead (see `native-block.ts`), so nothing per item
 * is held. `add` must write the whole item or, when it throws, nothing.
 */
export interface BatchAccumulator<T, P> {
  /** items added since the last take */
  readonly count: number;
  add(item: T): void;
  /** Every item added since the last take, in order, as one batch's items; the accumulator starts over empty. */
  take(): P;
  /** Told when a batch's items are stored and will not be sent again, so their memory can carry a later batch. */
  release?(items: P): void;
}

export interface InsertBatcherOptions<T, P = readonly T[]> {
  /** Stores one batch; resolves once it is stored. At most one call is in flight at a time. */
  insert(batch: Batch<T, P>): Promise<void>;
  /** How items are collected into a batch (default: an array; required when `P` is not `T[]`). */
  accumulator?: BatchAccumulator<T, P>;
  /** Items held (waiting plus the batch in flight) before `push` starts dropping (default 100,000). */
  maxQueued?: number;
  /** Insert as soon as this many items wait (default 5,000). */
  batchSize?: number;
  /** Insert whatever waits at this interval (default 1,000 ms). */
  flushMs?: number;
  /** First retry delay after a failed insert, doubled per failure (default 100 ms). */
  retryBaseMs?: number;
  /** Longest retry delay (default 30,000 ms). */
  retryMaxMs?: number;
  /** Told about every failed attempt, for logging. Must not throw; if it does, that is ignored. */
  onInsertError?(error: unknown, batch: Batch<T, P>): void;
}

/** The default accumulator: the items themselves, in an array. */
class ArrayAccumulator<T> implements BatchAccumulator<T, readonly T[]> {
  #items: T[] = [];
  get count(): number {
    return this.#items.length;
  }
  add(item: T): void {
    this.#items.push(item);
  }
  take(): readonly T[] {
    const items = this.#items;
    this.#items = [];
    return items;
  }
}

export interface InsertBatcherStats {
  queued: number;
  inserted: number;
  dropped: number;
  failures: number;
}

interface Waiter {
  /** resolved once this many items are stored */
  target: number;
  resolve(): void;
  /** absent for close()'s own drain, which keeps waiting through failures until its deadline */
  reject?(error: unknown): void;
}

type State = 'idle' | 'running' | 'closing' | 'closed';

/**
 * A bounded FIFO that turns `push()` calls into batched inserts: on size, on an interval, or on `flush()`; one insert in
 * flight; a failed batch stays at the head and is retried, unchanged, with capped exponential backoff.
 *
 * When full, `push()` drops the NEWEST item (the one being pushed), and counts it. Dropping the oldest instead would
 * have to cut into the head batch, which may already be partly stored by a failed attempt: changing it would void its
 * deduplication token and store rows twice or lose rows in the middle. Keeping the stored data a gap-free prefix of
 * what was pushed also lets `flush()` be a plain watermark. During a long outage both policies lose the same number of
 * events; this one loses the end of the outage rather than its start.
 *
 * @example
 * const batcher = new InsertBatcher<Row>({ insert: (batch) => client.insert({ table: 'events', values: batch.items, … }) });
 * batcher.start();
 * batcher.push(row); // never throws, never waits
 * await batcher.flush();
 */
export class InsertBatcher<T, P = readonly T[]> {
  readonly #insert: (batch: Batch<T, P>) => Promise<void>;
  readonly #maxQueued: number;
  readonly #batchSize: number;
  readonly #flushMs: number;
  readonly #retry: { baseMs: number; maxMs: number };
  readonly #onInsertError: ((error: unknown, batch: Batch<T, P>) => void) | undefined;

  /** items pushed and not yet cut into a batch */
  readonly #open: BatchAccumulator<T, P>;
  /** full batches cut while another was in flight, oldest first, with their items counted in #cutCount */
  #cut: { items: P; count: number }[] = [];
  #cutCount = 0;
  #head: Batch<T, P> | undefined;
  /** items ever accepted by push(); item n (1-based) is stored once #stored >= n, since storage is FIFO */
  #accepted = 0;
  #stored = 0;
  #dropped = 0;
  #failures = 0;
  /** insert without waiting for a full batch until this many items are stored (set by the interval and flush) */
  #drainTo = 0;
  #waiters: Waiter[] = [];
  #state: State = 'idle';
  #pumping = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #tick: NodeJS.Timeout | undefined;

  constructor(options: InsertBatcherOptions<T, P>) {
    this.#insert = options.insert;
    this.#open = options.accumulator ?? (new ArrayAccumulator<T>() as unknown as BatchAccumulator<T, P>);
    this.#maxQueued = positive(options.maxQueued, 100_000, 'maxQueued');
    this.#batchSize = Math.min(positive(options.batchSize, 5_000, 'batchSize'), this.#maxQueued);
    this.#flushMs = positive(options.flushMs, 1_000, 'flushMs');
    this.#retry = { baseMs: positive(options.retryBaseMs, 100, 'retryBaseMs'), maxMs: positive(options.retryMaxMs, 30_000, 'retryMaxMs') };
    this.#onInsertError = options.onInsertError;
  }

  /** Starts inserting: what was pushed before is kept and goes out with the first batches. */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    // unref: a forgotten batcher must not keep a process alive; close() holds the process open while it drains.
    this.#tick = setInterval(() => this.#onTick(), this.#flushMs).unref();
    if (this.#cut.length > 0) this.#kick(false);
  }

  /** Queues one item, or counts it as dropped when the queue is full or closing. O(1); never throws. */
  push(item: T): void {
    if (this.#state === 'closing' || this.#state === 'closed' || this.#queued() >= this.#maxQueued) {
      this.#dropped++;
      return;
    }
    try {
      this.#open.add(item);
    } catch {
      // An item the accumulator cannot take (it wrote nothing) is dropped like one that finds the queue full.
      this.#dropped++;
      return;
    }
    this.#accepted++;
    if (this.#open.count >= this.#batchSize) {
      // Cut now, so the items wait in their batch's form (and an accumulator's buffers start over small).
      this.#seal();
      this.#kick(false);
    }
  }

  /**
   * Resolves when every item pushed before the call is stored; rejects with the backend's error when an attempt to
   * store them fails (they stay queued and are retried). Skips a pending backoff: the caller asked for it now.
   */
  flush(): Promise<void> {
    const target = this.#accepted;
    if (this.#stored >= target) return Promise.resolve();
    const stored = new Promise<void>((resolve, reject) => this.#waiters.push({ target, resolve, reject }));
    this.#drainTo = Math.max(this.#drainTo, target);
    this.#kick(true);
    return stored;
  }

  /**
   * Stops accepting, keeps inserting (with retries) what is queued until it is stored or `deadlineMs` passes, then
   * stops for good. Pending `flush()` calls that are not satisfied by then reject with `abandoned()`. Resolves with the
   * number of items left unstored.
   */
  async close(options: { deadlineMs: number; abandoned: () => Error }): Promise<{ abandoned: number }> {
    if (this.#state === 'closing' || this.#state === 'closed') return { abandoned: this.#queued() };
    const wasRunning = this.#state === 'running';
    this.#state = 'closing';
    clearInterval(this.#tick);
    if (wasRunning && this.#stored < this.#accepted) {
      const target = this.#accepted;
      const drained = new Promise<void>((resolve) => this.#waiters.push({ target, resolve }));
      this.#drainTo = Math.max(this.#drainTo, target);
      this.#kick(true);
      await withDeadline(drained, options.deadlineMs);
    }
    this.#state = 'closed';
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      if (this.#stored >= waiter.target) waiter.resolve();
      else waiter.reject?.(options.abandoned());
    }
    return { abandoned: this.#queued() };
  }

  stats(): InsertBatcherStats {
    return { queued: this.#queued(), inserted: this.#stored, dropped: this.#dropped, failures: this.#failures };
  }

  #queued(): number {
    return this.#open.count + this.#cutCount + (this.#head?.count ?? 0);
  }

  #onTick(): void {
    if (this.#stored >= this.#accepted) return;
    this.#drainTo = Math.max(this.#drainTo, this.#accepted);
    this.#kick(false);
  }

  /** Starts the pump unless it runs, or waits out a backoff (which `now` cuts short). */
  #kick(now: boolean): void {
    if (this.#state !== 'running' && this.#state !== 'closing') return;
    if (now && this.#retryTimer) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    if (this.#pumping || this.#retryTimer) return;
    void this.#pump();
  }

  /** The one insert loop: the only place that takes items off the queue, so one insert is in flight at most. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#state === 'running' || this.#state === 'closing') {
        const batch = this.#head ?? this.#next();
        if (!batch) return;
        try {
          await this.#insert(batch);
        } catch (error) {
          this.#failed(batch, error);
          return;
        }
        this.#head = undefined;
        this.#stored += batch.count;
        this.#open.release?.(batch.items);
        this.#settleWaiters();
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** The next batch, when a full one waits or someone asked for a drain; undefined when there is nothing due. */
  #next(): Batch<T, P> | undefined {
    if (this.#cut.length === 0 && this.#stored < this.#drainTo && this.#open.count > 0) this.#seal();
    const cut = this.#cut.shift();
    if (!cut) return undefined;
    this.#cutCount -= cut.count;
    this.#head = { items: cut.items, count: cut.count, token: randomUUID(), attempts: 0 };
    return this.#head;
  }

  /** Cuts what the accumulator holds (at most a batch: push cuts at batchSize) into a batch waiting its turn. */
  #seal(): void {
    const count = this.#open.count;
    this.#cut.push({ items: this.#open.take(), count });
    this.#cutCount += count;
  }

  #failed(batch: Batch<T, P>, error: unknown): void {
    this.#failures++;
    batch.attempts++;
    try {
      this.#onInsertError?.(error, batch);
    } catch {
      // a logging hook must not stop the retries
    }
    // Every caller still waiting is waiting on this batch, the oldest unstored items.
    const waiters = this.#waiters;
    this.#waiters = waiters.filter((waiter) => !waiter.reject);
    for (const waiter of waiters) waiter.reject?.(error);
    if (this.#state !== 'running' && this.#state !== 'closing') return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#kick(false);
    }, retryDelay(batch.attempts, this.#retry));
    if (this.#state === 'running') this.#retryTimer.unref();
  }

  #settleWaiters(): void {
    if (this.#waiters.length === 0) return;
    const stillWaiting: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (this.#stored >= waiter.target) waiter.resolve();
      else stillWaiting.push(waiter);
    }
    this.#waiters = stillWaiting;
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}
