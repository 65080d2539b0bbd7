/**
 * Where one topic subscription stands in the topic's `seq` order, and what to do with each frame the hub sends.
 *
 * The hub guarantees that a `sub` with `since: N` is answered with every message after N, in order, then the live
 * stream, nothing twice. The cursor turns that into "each message reaches the page exactly once":
 * - a message at or below `lastSeq` is a duplicate (e.g. a live frame that raced a replay) and is dropped;
 * - the next seq is delivered;
 * - a seq beyond the next is a gap: the cursor asks for a replay from `lastSeq` and drops everything until the
 *   replay closes the gap (a replay already under way is not asked for twice);
 * - `reset` (the gap is older than the hub keeps, or `since` is from another epoch) moves the cursor to the hub's
 *   head: the page refetches state.
 *
 * A position is `lastSeq` within an `epoch` (the hub names its sequence space in every `sub` confirmation; seqs
 * restart at 1 only under a new one, e.g. a hub on the in-process bus restarted). The cursor sends its epoch back
 * with `since`, so the hub itself decides: the same epoch is replayed exactly, another one is answered `reset`.
 *
 * No DOM, no sockets: the live socket feeds it frames and sends what it asks for.
 */

/** Where a subscription that has never seen the topic starts. */
export type StartFrom =
  /** only messages published after the subscription (state comes from REST) */
  | 'live'
  /** everything the hub still retains (bounded by its replay window), then live */
  | 'history'
  /** the last `n` messages, then live (e.g. `{ last: 1 }` for a topic whose messages carry the whole state) */
  | { readonly last: number };

export type Verdict = 'deliver' | 'duplicate' | 'gap';

/** A `sub` frame to send: `id` ties the hub's answer to this request. */
export interface SubRequest {
  readonly id: string;
  readonly topic: string;
  readonly since: number | undefined;
  /** the epoch `since` belongs to, when known (never sent without `since`) */
  readonly epoch?: string;
}

export class TopicCursor {
  /** The last seq delivered; undefined until the hub has told us where the topic stands. */
  lastSeq: number | undefined;
  /**
   * The hub's name for the seq history `lastSeq` belongs to; undefined until a confirmation names it (a hub that
   * predates epochs never does), and between a `reset` frame and the confirmation that follows it.
   */
  epoch: string | undefined;
  /**
   * For a hub that sends no epoch: set when it went away in a way that may have restarted its seq history (a
   * restart of a hub on the in-process bus begins every topic at seq 1 again, so `since` would point into a
   * different history). The next confirmation then also reports a reset, so the page refetches state. Unused once
   * the epoch is known: the hub then answers a `since` from another epoch with `reset` itself.
   */
  suspect = false;
  /**
   * `lastSeq` came from a `reset` frame, which names no epoch: it is in the epoch of the socket that sent it, which
   * the next confirmation on that socket names (any confirmation: the hub's epoch is fixed for a socket's life).
   */
  #epochFromNextOk = false;
  /** The id of the `sub` whose answer we wait for; frames of an older socket or a superseded `sub` are ignored. */
  #awaiting: string | undefined;
  #replaying = false;

  constructor(
    readonly topic: string,
    readonly from: StartFrom = 'live',
  ) {}

  /** True while a replay asked for is not yet confirmed. */
  get replaying(): boolean {
    return this.#replaying;
  }

  /** The `sub` to send on a (new) connection. */
  subscribe(id: string): SubRequest {
    this.#awaiting = id;
    this.#replaying = this.lastSeq !== undefined;
    if (this.lastSeq === undefined) return { id, topic: this.topic, since: this.from === 'history' ? 0 : undefined };
    return this.#request(id);
  }

  /** What to do with a `msg` frame's seq. A `gap` answer means: call {@link resubscribe} unless already replaying. */
  accept(seq: number): Verdict {
    if (this.lastSeq === undefined) {
      // Only possible for a live start whose `ok` has not arrived; the hub sends `ok` before any live frame, so
      // this is a frame from a previous socket's subscription: take it as the starting point.
      this.lastSeq = seq;
      return 'deliver';
    }
    if (seq <= this.lastSeq) return 'duplicate';
    if (seq === this.lastSeq + 1) {
      this.lastSeq = seq;
      return 'deliver';
    }
    return 'gap';
  }

  /**
   * Asks the hub to replay from `lastSeq` (after a gap), or from `since` in `epoch` (a snapshot older than the
   * stream: pass the epoch the snapshot was taken in). `since` 0 is the start of any epoch, so it is sent without one.
   */
  resubscribe(id: string, since?: number, epoch?: string): SubRequest {
    if (since !== undefined) {
      this.lastSeq = since;
      this.epoch = since === 0 ? undefined : (epoch ?? this.epoch);
      this.#epochFromNextOk = false;
    }
    this.#awaiting = id;
    this.#replaying = true;
    return this.#request(id);
  }

  #request(id: string): SubRequest {
    const since = this.lastSeq;
    return since !== undefined && since > 0 && this.epoch !== undefined ? { id, topic: this.topic, since, epoch: this.epoch } : { id, topic: this.topic, since };
  }

  /**
   * The hub confirmed a `sub`: everything up to `head` has been sent. Returns a follow-up `sub` when a fresh
   * `{ last: n }` subscription now knows where to start its replay, and whether this answer made the topic live.
   */
  confirmed(id: string, head: number, nextId: () => string, epoch?: string): { live: boolean; reset?: boolean; follow?: SubRequest } {
    if (this.#epochFromNextOk && epoch !== undefined) {
      // Even the answer to a superseded `sub` names the epoch of the `reset` that came before it on this socket.
      this.epoch = epoch;
      this.#epochFromNextOk = false;
    }
    if (id !== this.#awaiting) return { live: false };
    this.#awaiting = undefined;
    this.#replaying = false;
    // With epochs the hub compares them itself (and answers `reset`); a confirmation under another epoch than the
    // one sent is still a restart (e.g. a hub that ignored it). Without them, `suspect` is all there is to go on.
    const restarted = epoch !== undefined && this.epoch !== undefined ? epoch !== this.epoch : this.suspect;
    this.suspect = false;
    if (epoch !== undefined) this.epoch = epoch;
    if (restarted && this.lastSeq !== undefined) {
      // What was replayed (if anything) is kept; the page refetches to cover what the replay could not.
      this.lastSeq = Math.max(head, 0);
      return { live: true, reset: true };
    }
    if (this.lastSeq === undefined) {
      if (typeof this.from === 'object' && head > 0 && this.from.last > 0) {
        return { live: false, follow: this.resubscribe(nextId(), Math.max(0, head - this.from.last)) };
      }
      this.lastSeq = head;
    } else if (head > this.lastSeq) {
      // The hub says it sent up to head but we hold less (frames lost in between): ask again from where we are.
      return { live: false, follow: this.resubscribe(nextId()) };
    }
    return { live: true };
  }

  /** The hub could not replay: it continues live after `head`. The page must refetch what it shows. */
  reset(head: number): void {
    this.lastSeq = head;
    this.#replaying = false;
    // The head is in the epoch the hub's next confirmation names; until then the cursor holds no epoch, so that
    // confirmation is not mistaken for a restart.
    this.epoch = undefined;
    this.#epochFromNextOk = true;
    // The page is refetching anyway: the coming confirmation need not ask again.
    this.suspect = false;
  }

  /** The connection dropped: a `sub` in flight will never be answered. */
  disconnected(): void {
    this.#awaiting = undefined;
    this.#replaying = false;
    if (this.#epochFromNextOk) {
      // A `reset` whose epoch was never named (its socket dropped first): the next hub cannot tell whether `lastSeq`
      // is in its history, so its confirmation is treated as a restart.
      this.#epochFromNextOk = false;
      this.suspect = true;
    }
  }
}
