import type { Cluster } from 'ioredis';
import { BusUnavailableError } from '../bus.ts';
import type { TopicKeys } from './keys.ts';
import { shardedPublishScript } from './scripts.ts';
import type { TopologyWatch } from './topology-watch.ts';

/** Publishes sent to one primary in one pipeline at most; the rest wait for the next. */
const maxBatch = 256;
/** A publish redirected (MOVED/ASK) more often than this is refused: the cluster is still moving. */
const maxAttempts = 4;

interface Pending {
  readonly keys: TopicKeys;
  readonly args: readonly string[];
  attempt: number;
  /** the primary answered NOSCRIPT: send the script's source (EVAL) next time */
  sendSource: boolean;
  resolve(reply: unknown): void;
  reject(err: unknown): void;
}

interface NodeQueue {
  waiting: Pending[];
  sending: boolean;
}

/**
 * The cluster's publish path: the publish script, and WAIT until a replica of the shard holds it, so a failover can
 * neither lose an acknowledged publish nor hand its seq to another message.
 *
 * WAIT blocks the connection it is sent on, and ioredis sends every command for one primary over one connection.
 * Sent once per publish, a WAIT that cannot be satisfied (the replica just died, or was just promoted and the
 * topology still counts it) holds every command queued behind it for the whole timeout: with dozens of publishes
 * in flight the connection stalled for tens of seconds after a failover, commands timing out behind WAITs the server
 * still had to serve one after the other. Here publishes are grouped per primary (group commit): one pipeline of
 * scripts and a single WAIT covering them all (WAIT confirms every earlier write of its connection), and at most one
 * such pipeline in flight per primary. A WAIT that cannot be satisfied then costs one timeout for the whole group,
 * and publishes made meanwhile go together in the next one.
 *
 * @example
 * const publisher = new ReplicatedPublisher(cluster, watch, 1000);
 * const [seq, ts] = (await publisher.publish(keys, scriptArgs)) as [number, number];
 */
export class ReplicatedPublisher {
  /** by the primary ioredis routes the slot to (`host:port`), so one group is one pipeline to one node */
  readonly #queues = new Map<string, NodeQueue>();

  constructor(
    private readonly cluster: Cluster,
    private readonly topology: TopologyWatch,
    private readonly replicaWaitMs: number,
  ) {}

  /** Resolves with the script's reply once a replica confirmed it (or the shard has none online). */
  publish(keys: TopicKeys, args: readonly string[]): Promise<unknown> {
    return new Promise((resolve, reject) => this.#enqueue({ keys, args, attempt: 1, sendSource: false, resolve, reject }));
  }

  #enqueue(pending: Pending): void {
    const node = this.cluster.slots[pending.keys.slot]?.[0] ?? '';
    let queue = this.#queues.get(node);
    if (queue === undefined) {
      queue = { waiting: [], sending: false };
      this.#queues.set(node, queue);
    }
    queue.waiting.push(pending);
    if (queue.sending) return; // goes with the next group, once the one in flight is answered
    queue.sending = true;
    // Let the publishes of this tick join the group.
    queueMicrotask(() => void this.#drain(node, queue));
  }

  async #drain(node: string, queue: NodeQueue): Promise<void> {
    while (queue.waiting.length > 0) await this.#send(queue.waiting.splice(0, maxBatch));
    queue.sending = false;
    if (this.#queues.get(node) === queue) this.#queues.delete(node);
  }

  async #send(group: Pending[]): Promise<void> {
    let replicas = 0;
    for (const { keys } of group) replicas = Math.max(replicas, Math.min(1, this.topology.current?.replicasOf(keys.slot) ?? 0));
    const pipeline = this.cluster.pipeline();
    for (const { args, sendSource } of group) {
      if (sendSource) pipeline.eval(shardedPublishScript.lua, 4, ...args);
      else pipeline.evalsha(shardedPublishScript.sha, 4, ...args);
    }
    if (replicas > 0) pipeline.wait(replicas, this.replicaWaitMs);

    let results: [Error | null, unknown][];
    try {
      results = (await pipeline.exec()) ?? [];
    } catch (err) {
      // ioredis refuses a pipeline whose slots it now maps to different nodes (its slot map changed since these
      // were grouped): regroup them one by one.
      if (group.length > 1 && err instanceof Error && err.message.includes('slots allocation group')) {
        for (const pending of group) this.#enqueue(pending);
        return;
      }
      for (const pending of group) pending.reject(err);
      return;
    }

    let unconfirmed: Error | undefined;
    if (replicas > 0) {
      const [waitErr, acknowledged] = results[group.length] ?? [new Error('no WAIT reply'), 0];
      if (waitErr || Number(acknowledged) < replicas) {
        this.topology.nudge();
        unconfirmed = new BusUnavailableError('redis', waitErr ?? new Error(`no replica confirmed the publish within ${this.replicaWaitMs} ms`));
      }
    }
    const redirected: Pending[] = [];
    for (const [i, pending] of group.entries()) {
      const [err, reply] = results[i] ?? [new Error('empty pipeline reply'), undefined];
      if (err === null) {
        if (unconfirmed) pending.reject(unconfirmed);
        else pending.resolve(reply);
        continue;
      }
      const message = err.message;
      if (message.startsWith('NOSCRIPT') && !pending.sendSource) {
        pending.sendSource = true; // this primary has not seen the script yet (new, restarted, or promoted)
        this.#enqueue(pending);
      } else if ((message.startsWith('MOVED') || message.startsWith('ASK')) && pending.attempt < maxAttempts) {
        // Not run: learn the new topology, then try again on the primary that owns the slot now.
        pending.attempt++;
        redirected.push(pending);
      } else {
        pending.reject(err);
      }
    }
    if (redirected.length > 0) {
      await new Promise<void>((resolve) => this.cluster.refreshSlotsCache(() => resolve()));
      this.topology.nudge();
      for (const pending of redirected) this.#enqueue(pending);
    }
  }
}
