import { LatencyHistogram } from '../core/histogram.ts';
import { type ManagedProcess, type ProcessGroup } from '../core/process-group.ts';
import type { ClientSpec, ConnectionGroup, ConnectPlan, ConnectReport, DrainReport, RecoveryReport, WindowReport } from '../core/specs.ts';
import { fileURLToPath } from 'node:url';
import { parseOpshubClient, type OpshubClient } from '../clients/frame-socket.ts';

const workerScript = fileURLToPath(new URL('../clients/client-worker.ts', import.meta.url));
/**
 * A large young generation: every delivered frame allocates a little (a Buffer view, ws's bookkeeping), and with
 * V8's default semi-space a client worker spends about a tenth of its CPU in scavenges.
 */
const clientNodeArgs = ['--max-old-space-size=4096', '--max-semi-space-size=64'];

/** One label's figures merged across worker processes. */
export interface MergedGroup {
  readonly histogram: LatencyHistogram;
  received: number;
  gaps: number;
  duplicates: number;
}

export interface MergedWindow {
  readonly groups: Map<string, MergedGroup>;
  /** every label together */
  readonly all: MergedGroup;
  /** CPU of all client workers together (1 = one core) */
  readonly cpu: number;
  /** CPU time all client workers spent in the window, ms */
  readonly cpuMs: number;
  readonly closed: number;
  readonly open: number;
}

/**
 * The client worker processes of one scenario run, on the client cores, used as one: connection groups are split
 * across workers and their reports merged.
 */
export class ClientPool {
  private constructor(
    readonly workers: readonly ManagedProcess<ClientSpec>[],
    /** the WebSocket client opshub subscribers run on */
    readonly opshubClient: OpshubClient,
  ) {}

  /** `client` defaults to `BENCH_CLIENT` from the driver's environment (`lean` when unset). */
  static async start(group: ProcessGroup, options: { name: string; workers: number; cpus: string; client?: OpshubClient }): Promise<ClientPool> {
    const client = options.client ?? parseOpshubClient(process.env.BENCH_CLIENT);
    const workers = Array.from({ length: Math.max(1, options.workers) }, (_, i) =>
      group.spawnNode<ClientSpec>({ name: `${options.name}-${i}`, script: workerScript, cpus: options.cpus, nodeArgs: clientNodeArgs, env: { BENCH_CLIENT: client } }),
    );
    // A round trip proves each worker is up (its IPC handler installed) before any plan is sent.
    await Promise.all(workers.map((w) => w.rpc.call('reset', {}, 60_000)));
    return new ClientPool(workers, client);
  }

  async connect(plan: ConnectPlan): Promise<ConnectReport> {
    const shares = this.workers.map((_, w) => ({
      ...plan,
      groups: plan.groups
        .map((g): ConnectionGroup => ({ ...g, count: share(g.count, this.workers.length, w) }))
        .filter((g) => g.count > 0),
    }));
    const reports = await Promise.all(this.workers.map((w, i) => w.rpc.call('connect', shares[i]!, 600_000)));
    return mergeConnect(reports);
  }

  async heal(): Promise<ConnectReport> {
    return mergeConnect(await Promise.all(this.workers.map((w) => w.rpc.call('heal', {}, 600_000))));
  }

  async reset(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.rpc.call('reset', {})));
  }

  async drain(until: Record<string, number>, timeoutMs: number): Promise<DrainReport> {
    const reports = await Promise.all(this.workers.map((w) => w.rpc.call('drain', { until, timeoutMs }, timeoutMs + 30_000)));
    return {
      complete: reports.every((r) => r.complete),
      behind: sum(reports.map((r) => r.behind)),
      missing: sum(reports.map((r) => r.missing)),
      deadMissing: sum(reports.map((r) => r.deadMissing)),
    };
  }

  async collect(): Promise<MergedWindow> {
    return mergeWindows(await Promise.all(this.workers.map((w) => w.rpc.call('collect', {}))));
  }

  async recovery(sinceMs: number, until: Record<string, number>): Promise<RecoveryReport> {
    const reports = await Promise.all(this.workers.map((w) => w.rpc.call('recovery', { sinceMs, until })));
    return {
      dropped: sum(reports.map((r) => r.dropped)),
      back: sum(reports.map((r) => r.back)),
      backMs: reports.flatMap((r) => r.backMs).sort((a, b) => a - b),
      droppedMs: reports.flatMap((r) => r.droppedMs).sort((a, b) => a - b),
      complete: sum(reports.map((r) => r.complete)),
      recovered: sum(reports.map((r) => r.recovered)),
    };
  }

  /** Closes every connection, then stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.rpc.call('close', {}, 30_000).catch(() => {})));
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

/** Worker `w`'s part of `count` connections: as even as possible. */
function share(count: number, workers: number, w: number): number {
  return Math.floor(count / workers) + (w < count % workers ? 1 : 0);
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

function mergeConnect(reports: readonly ConnectReport[]): ConnectReport {
  return {
    connected: sum(reports.map((r) => r.connected)),
    failed: sum(reports.map((r) => r.failed)),
    ms: Math.max(0, ...reports.map((r) => r.ms)),
    errors: reports.flatMap((r) => r.errors),
  };
}

function emptyGroup(): MergedGroup {
  return { histogram: new LatencyHistogram(), received: 0, gaps: 0, duplicates: 0 };
}

function mergeWindows(reports: readonly WindowReport[]): MergedWindow {
  const groups = new Map<string, MergedGroup>();
  const all = emptyGroup();
  for (const report of reports) {
    for (const [label, g] of Object.entries(report.groups)) {
      let merged = groups.get(label);
      if (!merged) groups.set(label, (merged = emptyGroup()));
      for (const target of [merged, all]) {
        target.histogram.merge(g);
        target.received += g.received;
        target.gaps += g.gaps;
        target.duplicates += g.duplicates;
      }
    }
  }
  return {
    groups,
    all,
    cpu: sum(reports.map((r) => r.cpu)),
    cpuMs: sum(reports.map((r) => r.cpu * r.wallMs)),
    closed: sum(reports.map((r) => r.closed)),
    open: sum(reports.map((r) => r.open)),
  };
}
