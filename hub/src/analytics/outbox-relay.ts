import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';
import type { Logger } from '../log.ts';
import {
  claimRelay,
  commitProgress,
  outboxBacklog,
  outboxStart,
  pruneOutbox,
  readOutboxBody,
  recordPending,
  releaseRelay,
  type OutboxBody,
  type OutboxPosition,
} from '../store/repos/analytics-outbox-repo.ts';
import { erasedUpTo, erasuresAfter, lastErasure, recordErased } from '../store/repos/analytics-erasure-repo.ts';
import type { Analytics } from './analytics.ts';
import { retryDelay } from './retry-delay.ts';

export interface OutboxRelayOptions {
  /** the Store whose outbox is shipped; its `db` is read at each step, so the relay can be made before the Store opens */
  readonly store: { readonly db: Kysely<Database> };
  readonly analytics: Pick<Analytics, 'ingest' | 'relayTarget' | 'erase'>;
  /** this relay's name in the lease (default: a random id per process) */
  readonly owner?: string;
  /** rows per insert (default 50,000: ClickHouse's cost per row halves from 5,000 to 50,000) */
  readonly batchSize?: number;
  /** how often an idle relay looks for new rows, and a follower for a lapsed lease (default 250 ms) */
  readonly pollMs?: number;
  /** how long a lease lasts unless renewed: a second hub takes over this long after the first one dies (default 5,000 ms) */
  readonly leaseMs?: number;
  /** outbox rows older than this are deleted, shipped or not: the bound on the outbox during an outage (default 48 h) */
  readonly retentionMs?: number;
  /** how often the leader prunes past retention (default 60,000 ms) */
  readonly pruneEveryMs?: number;
  /** how often the backlog behind `/metrics` is counted (default 2,000 ms) */
  readonly backlogEveryMs?: number;
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly log?: Logger;
}

export interface OutboxRelayStats {
  /** the ClickHouse this relay fills, once known */
  readonly target: string | undefined;
  /** true while this relay holds the target's lease */
  readonly leader: boolean;
  /** rows this relay stored in ClickHouse since it started */
  readonly shipped: number;
  /** outbox rows after the target's cursor, counted every few seconds (capped at a million) */
  readonly lagEvents: number;
  /** age of the oldest of them, 0 when caught up */
  readonly lagSeconds: number;
  /** failed attempts to read, record or ship (each retried) */
  readonly failures: number;
  /** outbox rows deleted past retention by this relay */
  readonly pruned: number;
}

/**
 * Ships the Store's analytics outbox to ClickHouse, exactly once, and nothing else.
 *
 * Per target (a shared ClickHouse server, or this hub's own chDB) one relay at a time holds a lease in the Store;
 * the others wait and take over once it lapses. The holder repeats: take the next rows after the target's cursor in
 * commit-safe order (`readOutbox`), record them as the pending batch, send them with a deduplication token made from
 * their range, then move the cursor. A relay that dies between sending and moving the cursor leaves the batch pending;
 * whoever holds the lease next sends exactly those rows again with the same token, and ClickHouse stores them once.
 *
 * Erasure requests (`analytics_erasures`, written with the outbox rows they delete) are applied to the target between
 * two batches, in order, and recorded per target (`erased_id`): see `erase-events.ts`.
 *
 * Nothing on the live path waits for this: streams only write outbox rows in their own transactions. While
 * ClickHouse is down the rows wait (up to `retentionMs`) and the relay retries with backoff; they drain when it is back.
 *
 * @example
 * const relay = new OutboxRelay({ store, analytics });
 * relay.start();
 * await relay.drain(); // everything committed before this call is in ClickHouse
 * await relay.close();
 */
export class OutboxRelay {
  readonly #store: OutboxRelayOptions['store'];
  readonly #analytics: OutboxRelayOptions['analytics'];
  readonly #owner: string;
  readonly #batchSize: number;
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #retentionMs: number;
  readonly #pruneEveryMs: number;
  readonly #backlogEveryMs: number;
  readonly #retry: { baseMs: number; maxMs: number };
  readonly #log: Logger | undefined;

  #target: string | undefined;
  #leader = false;
  #cursor: OutboxPosition = outboxStart;
  /** the last erasure request this target has applied */
  #erased = 0;
  /** the batch after `after`, read while the one before it was being stored (see `#step`) */
  #prefetched: { after: OutboxPosition; body: Promise<OutboxBody | undefined> } | undefined;
  #shipped = 0;
  #failures = 0;
  #attempts = 0;
  #pruned = 0;
  #lag = { events: 0, oldestAt: null as Date | null };
  #lastPrune = 0;
  #lastBacklog = 0;
  /** the last step shipped a full batch: a backlog is being drained */
  #catchingUp = false;
  #running: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  #listeners = new Set<() => void>();

  get #db(): Kysely<Database> {
    return this.#store.db;
  }

  constructor(options: OutboxRelayOptions) {
    this.#store = options.store;
    this.#analytics = options.analytics;
    this.#owner = options.owner ?? randomUUID();
    this.#batchSize = options.batchSize ?? 50_000;
    this.#pollMs = options.pollMs ?? 250;
    this.#leaseMs = options.leaseMs ?? 5_000;
    this.#retentionMs = options.retentionMs ?? 48 * 3_600_000;
    this.#pruneEveryMs = options.pruneEveryMs ?? 60_000;
    this.#backlogEveryMs = options.backlogEveryMs ?? 2_000;
    this.#retry = { baseMs: options.retryBaseMs ?? 100, maxMs: options.retryMaxMs ?? 10_000 };
    this.#log = options.log;
  }

  /** Starts the loop in the background; returns at once (the hub does not wait for ClickHouse to start). */
  start(): void {
    this.#running ??= this.#loop();
  }

  /**
   * Resolves once every outbox row committed before the call is in this relay's ClickHouse (by this relay or by the
   * lease holder); rejects after `timeoutMs`.
   */
  async drain(timeoutMs = 60_000): Promise<void> {
    const [target, erasure] = await Promise.all([lastCommitted(this.#db), lastErasure(this.#db)]);
    if (!target && erasure === 0) return;
    const deadline = Date.now() + timeoutMs;
    // Rows pruned past retention before they were shipped never move the cursor: only rows still there are waited for.
    const behind = async () =>
      this.#erased < erasure || (target !== undefined && comparePositions(this.#cursor, target) < 0 && (await waitingUpTo(this.#db, this.#cursor, target)));
    while (await behind()) {
      if (this.#stopping) throw new Error('the outbox relay is closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the outbox relay did not reach ${target ? `${target.tx}.${target.id}` : 'the end'} and erasure ${erasure} within ${timeoutMs} ms (at ${this.#cursor.tx}.${this.#cursor.id}, erasure ${this.#erased})`);
      this.#wake?.();
      await new Promise<void>((resolve) => {
        const done = () => (clearTimeout(timer), this.#listeners.delete(done), resolve());
        const timer = setTimeout(done, Math.min(left, this.#pollMs));
        this.#listeners.add(done);
      });
    }
  }

  /** True once this relay's target has applied erasure request `id` (see `#applyErasures`); false after `timeoutMs`. */
  async erased(id: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#erased < id) {
      const left = deadline - Date.now();
      if (left <= 0 || this.#stopping) return false;
      this.#wake?.();
      await new Promise<void>((resolve) => {
        const done = () => (clearTimeout(timer), this.#listeners.delete(done), resolve());
        const timer = setTimeout(done, Math.min(left, this.#pollMs));
        this.#listeners.add(done);
      });
    }
    return true;
  }

  stats(): OutboxRelayStats {
    return {
      target: this.#target,
      leader: this.#leader,
      shipped: this.#shipped,
      lagEvents: this.#lag.events,
      lagSeconds: this.#lag.oldestAt ? Math.max(0, (Date.now() - this.#lag.oldestAt.getTime()) / 1000) : 0,
      failures: this.#failures,
      pruned: this.#pruned,
    };
  }

  /** Stops after the step in progress and gives the lease up, so another hub's relay takes over at once. */
  async close(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#running;
    const target = this.#target;
    if (this.#leader && target) await Promise.resolve().then(() => releaseRelay(this.#db, target, this.#owner)).catch(() => undefined);
    this.#leader = false;
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      let pause = this.#pollMs;
      try {
        this.#target ??= await this.#analytics.relayTarget();
        const more = await this.#step(this.#target);
        this.#catchingUp = more;
        this.#attempts = 0;
        if (more) pause = 0;
      } catch (error) {
        this.#prefetched = undefined;
        this.#catchingUp = false;
        this.#failures++;
        this.#attempts++;
        pause = retryDelay(this.#attempts, this.#retry);
        this.#log?.warn({ err: error, attempts: this.#attempts, retryInMs: Math.round(pause) }, 'analytics relay: a step failed; retrying');
      }
      // Also while ClickHouse is down: that is when the backlog matters, and when retention must be kept.
      if (this.#target) await this.#housekeeping(this.#target).catch((error: unknown) => this.#log?.warn({ err: error }, 'analytics relay: counting or pruning the outbox failed'));
      for (const listener of [...this.#listeners]) listener();
      if (pause > 0 && !this.#stopping) await this.#sleep(pause);
    }
  }

  /** One batch at most; true when there may be more waiting right away. */
  async #step(target: string): Promise<boolean> {
    const state = await claimRelay(this.#db, target, this.#owner, this.#leaseMs);
    if (!state) {
      this.#leader = false;
      this.#prefetched = undefined;
      this.#cursor = await cursorOf(this.#db, target);
      this.#erased = await erasedUpTo(this.#db, target);
      return false;
    }
    if (!this.#leader) this.#log?.info({ target, cursor: state.cursor }, 'analytics relay: shipping the outbox to this target');
    this.#leader = true;
    this.#cursor = state.cursor;
    if (state.pending) {
      // The previous holder recorded this batch and may have sent it: send exactly those rows again, same token.
      const batch = await readOutboxBody(this.#db, state.cursor, { upTo: state.pending.to });
      await this.#ship(batch, state.pending.token);
      return this.#advance(target, state.pending.to, batch.rows);
    }
    // Between two batches, never during one: see `erase-events.ts`. A batch read before an erasure was applied may
    // hold its rows, so the one read ahead is dropped.
    if (await this.#applyErasures(target, state.erased)) {
      this.#prefetched = undefined;
      return true;
    }
    const batch = await this.#read(state.cursor);
    const to = batch.last;
    if (!to) return false;
    const token = `${state.epoch}:${state.cursor.tx}.${state.cursor.id}-${to.tx}.${to.id}`;
    if (!(await recordPending(this.#db, target, this.#owner, to, token))) {
      this.#leader = false;
      this.#prefetched = undefined;
      return false;
    }
    // A full batch means more wait: read the next one while ClickHouse stores this one. The Store's read (PGlite runs
    // on this thread) and the engine's insert (its own threads) then overlap instead of taking turns. The rows read
    // ahead are committed and older than any transaction still open, so nothing can later commit between them and `to`.
    const full = batch.rows === this.#batchSize;
    if (full) this.#prefetch(to);
    await this.#ship(batch, token);
    return (await this.#advance(target, to, batch.rows)) && full;
  }

  /** The batch after `cursor`: the one read ahead when it starts there, else read now. */
  async #read(cursor: OutboxPosition): Promise<OutboxBody> {
    const ahead = this.#prefetched;
    this.#prefetched = undefined;
    if (ahead && comparePositions(ahead.after, cursor) === 0) {
      const body = await ahead.body;
      if (body) return body;
    }
    return readOutboxBody(this.#db, cursor, { limit: this.#batchSize });
  }

  #prefetch(after: OutboxPosition): void {
    // A failed read ahead is simply read again when its turn comes. Reading ahead means a backlog: see readOutboxBody.
    const body = readOutboxBody(this.#db, after, { limit: this.#batchSize }, { backlog: true }).catch(() => undefined);
    this.#prefetched = { after, body };
  }

  /**
   * Applies the erasure requests this target has not applied yet, in order; true when it applied any. The request
   * already took the rows out of the outbox, so what is shipped from now on is clean; this takes them out of ClickHouse.
   */
  async #applyErasures(target: string, erased: number): Promise<boolean> {
    this.#erased = erased;
    const requests = await erasuresAfter(this.#db, erased, 10);
    for (const request of requests) {
      await this.#analytics.erase(request);
      if (!(await recordErased(this.#db, target, this.#owner, request.id))) {
        this.#leader = false;
        return false;
      }
      this.#erased = request.id;
      this.#log?.info({ target, erasure: request.id, event: request.event }, 'analytics relay: applied an erasure');
    }
    return requests.length > 0;
  }

  async #ship(batch: OutboxBody, token: string): Promise<void> {
    if (batch.rows === 0) return;
    await this.#analytics.ingest({ token, body: batch.body, rows: batch.rows });
  }

  async #advance(target: string, to: OutboxPosition, rows: number): Promise<boolean> {
    if (!(await commitProgress(this.#db, target, this.#owner, to, rows))) {
      // Another relay took the lease while this batch was on its way: it sends the batch again, stored once.
      this.#leader = false;
      this.#prefetched = undefined;
      return false;
    }
    this.#cursor = to;
    this.#shipped += rows;
    return true;
  }

  async #housekeeping(target: string): Promise<void> {
    const now = Date.now();
    // The count walks the backlog on the Store's one connection (PGlite has no other): while a large backlog drains,
    // one count per five intervals, the lag shrinking by a batch per step meanwhile, leaves it to the reads.
    if (now - this.#lastBacklog >= this.#backlogEveryMs * (this.#catchingUp ? 5 : 1)) {
      this.#lastBacklog = now;
      this.#lag = await outboxBacklog(this.#db, this.#cursor);
    }
    if (this.#leader && now - this.#lastPrune >= this.#pruneEveryMs) {
      this.#lastPrune = now;
      let deleted: number;
      do {
        deleted = await pruneOutbox(this.#db, new Date(now - this.#retentionMs));
        this.#pruned += deleted;
      } while (deleted > 0 && !this.#stopping);
      if (this.#pruned > 0) this.#log?.debug({ target, pruned: this.#pruned }, 'analytics relay: pruned the outbox past retention');
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => ((this.#wake = undefined), resolve()), ms);
      timer.unref();
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

/** -1, 0 or 1 as `a` comes before, at or after `b` in shipping order. */
export function comparePositions(a: OutboxPosition, b: OutboxPosition): number {
  const tx = BigInt(a.tx) - BigInt(b.tx);
  if (tx !== 0n) return tx < 0n ? -1 : 1;
  const id = BigInt(a.id) - BigInt(b.id);
  return id === 0n ? 0 : id < 0n ? -1 : 1;
}

/** The last row committed so far, in shipping order; undefined for an empty outbox. */
async function lastCommitted(db: Kysely<Database>): Promise<OutboxPosition | undefined> {
  const { rows } = await sql<{ tx: string; id: string }>`select o.tx::text as tx, o.id::text as id from analytics_outbox o order by o.tx desc, o.id desc limit 1`.execute(db);
  return rows[0];
}

/** True while outbox rows remain in `(after, upTo]`. */
async function waitingUpTo(db: Kysely<Database>, after: OutboxPosition, upTo: OutboxPosition): Promise<boolean> {
  const { rows } = await sql<{ one: number }>`
    select 1 as one from analytics_outbox o
    where (o.tx, o.id) > (${after.tx}::xid8, ${after.id}::bigint) and (o.tx, o.id) <= (${upTo.tx}::xid8, ${upTo.id}::bigint)
    limit 1
  `.execute(db);
  return rows.length > 0;
}

/** A target's cursor as the lease holder left it (a follower's view, for `drain()` and the backlog). */
async function cursorOf(db: Kysely<Database>, target: string): Promise<OutboxPosition> {
  const { rows } = await sql<{ tx: string; id: string }>`select cursor_tx::text as tx, cursor_id::text as id from analytics_relay where target = ${target}`.execute(db);
  return rows[0] ?? outboxStart;
}
