import { slotCount } from './key-slot.ts';

/**
 * Who serves each slot of a Redis Cluster, from one `CLUSTER SLOTS` reply: the primary's address (`host:port`) and
 * how many replicas are online beside it (the reply leaves out failed and still-loading replicas).
 */
export class ClusterTopology {
  /** Per slot: index into `#primaries`, or -1 when no node serves it. */
  readonly #owner = new Int16Array(slotCount).fill(-1);
  readonly #replicas = new Uint8Array(slotCount);
  readonly #primaries: string[] = [];

  /**
   * @example ClusterTopology.fromSlotsReply(await cluster.cluster('SLOTS'), '127.0.0.1');
   * @param fallbackHost used for a node the reply names without a host (it then means "the host you asked")
   */
  static fromSlotsReply(reply: unknown, fallbackHost: string): ClusterTopology {
    const topology = new ClusterTopology();
    if (!Array.isArray(reply)) return topology;
    for (const range of reply) {
      if (!Array.isArray(range) || range.length < 3) continue;
      const [start, end, primary, ...replicas] = range as [unknown, unknown, unknown, ...unknown[]];
      const address = nodeAddress(primary, fallbackHost);
      if (typeof start !== 'number' || typeof end !== 'number' || address === undefined) continue;
      let index = topology.#primaries.indexOf(address);
      if (index < 0) index = topology.#primaries.push(address) - 1;
      for (let slot = Math.max(0, start); slot <= Math.min(end, slotCount - 1); slot++) {
        topology.#owner[slot] = index;
        topology.#replicas[slot] = Math.min(255, replicas.length);
      }
    }
    return topology;
  }

  /** The primary serving `slot` as `host:port`, or undefined while no node serves it. */
  primaryOf(slot: number): string | undefined {
    const index = this.#owner[slot]!;
    return index < 0 ? undefined : this.#primaries[index];
  }

  /** Online replicas of the primary serving `slot`. */
  replicasOf(slot: number): number {
    return this.#replicas[slot]!;
  }

  /** Every primary serving at least one slot. */
  get primaries(): readonly string[] {
    return this.#primaries;
  }

  /** True when both name the same primary and replica count for every slot. */
  equals(other: ClusterTopology): boolean {
    for (let slot = 0; slot < slotCount; slot++) {
      if (this.primaryOf(slot) !== other.primaryOf(slot) || this.#replicas[slot] !== other.#replicas[slot]) return false;
    }
    return true;
  }
}

function nodeAddress(node: unknown, fallbackHost: string): string | undefined {
  if (!Array.isArray(node) || node.length < 2) return undefined;
  const [host, port] = node as [unknown, unknown];
  if (typeof port !== 'number' || port <= 0) return undefined;
  const name = typeof host === 'string' && host !== '' && host !== '?' ? host : fallbackHost;
  return name.includes(':') ? `[${name}]:${port}` : `${name}:${port}`;
}

/**
 * Splits `host:port` (or `[v6]:port`) back into its parts.
 * @example splitAddress('[::1]:7000'); // { host: '::1', port: 7000 }
 */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(address.slice(colon + 1)) };
}
