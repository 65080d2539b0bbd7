import type { BusLog } from '../bus-log.ts';
import { ClusterTopology } from './cluster-topology.ts';

/** The slice of an ioredis `Cluster` the watch needs. */
export interface TopologySource {
  cluster(subcommand: 'SLOTS'): Promise<unknown>;
  /** Makes ioredis re-read the slots too, so commands follow a change the watch saw first. */
  refreshSlotsCache(): void;
}

/**
 * Keeps the bus's picture of a Redis Cluster current: read at start, re-read every `everyMs` (a primary that was
 * demoted while its connections stayed up is only noticed this way), and on demand when a node went away or a
 * command was redirected. Concurrent requests share one read. Listeners hear only real changes.
 *
 * @example
 * const watch = new TopologyWatch(cluster, '127.0.0.1', log);
 * await watch.start();
 * watch.onChange((topology) => rehome(topology));
 */
export class TopologyWatch {
  #current: ClusterTopology | undefined;
  #reading: Promise<ClusterTopology> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #listeners: ((topology: ClusterTopology) => void)[] = [];

  constructor(
    private readonly source: TopologySource,
    private readonly fallbackHost: string,
    private readonly log: BusLog,
    private readonly everyMs = 2_000,
  ) {}

  /** The last topology read; undefined before {@link start}. */
  get current(): ClusterTopology | undefined {
    return this.#current;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  onChange(listener: (topology: ClusterTopology) => void): void {
    this.#listeners.push(listener);
  }

  /** Reads the topology now (joining a read in flight); rejects when no node answers. */
  refresh(): Promise<ClusterTopology> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  /** Like {@link refresh} for callers that only want it to happen: failures are logged, the timer retries. */
  nudge(): void {
    if (!this.#closed) this.refresh().catch((err: unknown) => this.log.warn({ err }, 'cannot read the cluster topology; retrying'));
  }

  async #read(): Promise<ClusterTopology> {
    const topology = ClusterTopology.fromSlotsReply(await this.source.cluster('SLOTS'), this.fallbackHost);
    const previous = this.#current;
    if (this.#closed || (previous !== undefined && previous.equals(topology))) return previous ?? topology;
    this.#current = topology;
    if (previous !== undefined) {
      this.log.info({ primaries: topology.primaries }, 'redis cluster topology changed');
      this.source.refreshSlotsCache();
      for (const listener of this.#listeners) listener(topology);
    }
    return topology;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.refresh().then(
        () => this.#schedule(),
        () => this.#schedule(),
      );
    }, this.everyMs);
    this.#timer.unref();
  }
}
