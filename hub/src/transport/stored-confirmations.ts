import { encodeMessage } from '@opshub/replica';
import type { GateReplica } from '../replicas/gate-replica.ts';

/** A gate socket, as far as confirmations go. */
export interface ConfirmTarget {
  readonly open: boolean;
  readonly event: string;
  readonly replica: GateReplica | undefined;
  send(frame: Uint8Array): void;
}

interface TargetState {
  /** `performance.now()` of the latest update with structs from this socket not yet covered by a confirmation; 0: none */
  unconfirmedSince: number;
  confirmedAt: number;
  timer?: NodeJS.Timeout;
}

/**
 * Tells a gate which of its updates the hub has stored, so the gate's `pending` count (and the hub's `gate_stalled`
 * alert built on it) means "not stored by the hub" rather than "written to a socket". The y-websocket way: the hub
 * sends its sync step 1 again, with the state vector of what is durable; the gate answers with a step 2 of whatever
 * that lacks (a retransmission, harmless: Yjs applies a struct once), and an unmodified `WebsocketProvider` does the
 * same. At most one per socket every `everyMs`, and only to a socket that sent structs since its last one.
 *
 * @example
 * const confirmations = new StoredConfirmations({ storedState: (e) => host.storedState(e) });
 * confirmations.received(target, update);                  // after a gate's update was applied
 * confirmations.durable(replica, stateVector, takenAt, targets); // from ReplicaHost's `durable` notice
 */
export class StoredConfirmations {
  readonly #state = new WeakMap<ConfirmTarget, TargetState>();
  readonly #latest = new WeakMap<GateReplica, { stateVector: Uint8Array; takenAt: number }>();

  constructor(
    private readonly deps: { storedState: (event: string) => Uint8Array | undefined },
    private readonly options = { everyMs: 1000, settleMs: 100 },
  ) {}

  /** A doc update from `target` was handled; one without structs (an empty step 2) asks for nothing. */
  received(target: ConfirmTarget, update: Uint8Array): void {
    // A Yjs v1 update starts with its number of clients with structs.
    if (update[0] === 0) return;
    const state = this.#of(target);
    state.unconfirmedSince = performance.now();
    this.#schedule(target, state);
  }

  /** What entered through this hub is stored up to `stateVector`: confirm to the sockets waiting for it. */
  durable(replica: GateReplica, stateVector: Uint8Array, takenAt: number, targets: Iterable<ConfirmTarget>): void {
    this.#latest.set(replica, { stateVector, takenAt });
    for (const target of targets) {
      const state = this.#state.get(target);
      if (target.replica === replica && state && state.unconfirmedSince > 0) this.#schedule(target, state);
    }
  }

  forget(target: ConfirmTarget): void {
    clearTimeout(this.#state.get(target)?.timer);
    this.#state.delete(target);
  }

  #of(target: ConfirmTarget): TargetState {
    let state = this.#state.get(target);
    if (!state) this.#state.set(target, (state = { unconfirmedSince: 0, confirmedAt: 0 }));
    return state;
  }

  #schedule(target: ConfirmTarget, state: TargetState): void {
    if (state.timer) return;
    const wait = Math.max(this.options.settleMs, state.confirmedAt + this.options.everyMs - performance.now());
    state.timer = setTimeout(() => {
      state.timer = undefined;
      this.#confirm(target, state);
    }, wait);
    state.timer.unref();
  }

  #confirm(target: ConfirmTarget, state: TargetState): void {
    if (!target.open || !target.replica || state.unconfirmedSince === 0) return;
    // Nothing waiting to be stored: the doc as it is now is durable, and covers everything this socket sent.
    const idle = this.deps.storedState(target.event);
    const latest = this.#latest.get(target.replica);
    const stateVector = idle ?? latest?.stateVector;
    if (!stateVector) return; // the next durable notice schedules it
    target.send(encodeMessage({ kind: 'sync-step1', stateVector }));
    state.confirmedAt = performance.now();
    if (idle || (latest && latest.takenAt > state.unconfirmedSince)) state.unconfirmedSince = 0;
  }
}
