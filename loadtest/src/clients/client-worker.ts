/**
 * A client process: holds a share of a scenario's connections, records what they receive, answers the driver's
 * {@link ClientSpec} calls. The driver starts one or more of these on the client cores, with `BENCH_CLIENT`
 * naming the WebSocket client its opshub subscribers run on.
 */
import { nowMs } from '../core/payload.ts';
import { serve } from '../core/rpc.ts';
import type { ClientSpec, ConnectPlan, ConnectReport, DrainReport, RecoveryReport } from '../core/specs.ts';
import type { BenchConnection, ConnectionSetup } from './bench-connection.ts';
import { parseOpshubClient } from './frame-socket.ts';
import { LeanSocketioConnection } from './lean-socketio-connection.ts';
import { OpshubConnection } from './opshub-connection.ts';
import { Recorder } from './recorder.ts';
import { SocketioConnection } from './socketio-connection.ts';

// An orderly exit on SIGTERM, so --cpu-prof profiles get written.
process.on('SIGTERM', () => process.exit(0));

const opshubClient = parseOpshubClient(process.env.BENCH_CLIENT);
const recorder = new Recorder();
let connections: { conn: BenchConnection; channel: string; setup: ConnectionSetup }[] = [];
let plan: ConnectPlan | undefined;

serve<ClientSpec>({
  async connect(next) {
    plan = next;
    const created: typeof connections = [];
    let index = 0;
    for (const group of next.groups) {
      const stats = recorder.group(group.label);
      for (let i = 0; i < group.count; i++) {
        const setup: ConnectionSetup = {
          group,
          stats,
          recorder,
          token: next.token,
          name: next.target === 'socketio' ? group.channel : `event/${next.event}/${group.channel}`,
          localAddress: next.localAddresses[index++ % Math.max(1, next.localAddresses.length)],
        };
        created.push({ conn: create(next, setup), channel: group.channel, setup });
      }
    }
    connections.push(...created);
    return openAll(created.map((c) => c.conn), next.concurrency);
  },

  reset() {
    recorder.reset();
    for (const { conn } of connections) {
      conn.gaps = 0;
      conn.duplicates = 0;
    }
    return {};
  },

  async drain({ until, timeoutMs }) {
    const deadline = nowMs() + timeoutMs;
    for (;;) {
      const report = behind(until);
      if (report.behind === report.deadBehind || nowMs() > deadline) {
        return { complete: report.behind === 0, behind: report.behind, missing: report.missing, deadMissing: report.deadMissing } satisfies DrainReport;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  },

  collect() {
    return recorder.report(connections.filter((c) => c.conn.subscribed).length);
  },

  recovery({ sinceMs, until }) {
    const dropped = connections.filter((c) => c.conn.droppedAt >= sinceMs);
    const back = dropped.filter((c) => c.conn.backAt >= c.conn.droppedAt && c.conn.subscribed);
    return {
      dropped: dropped.length,
      back: back.length,
      backMs: back.map((c) => c.conn.backAt - sinceMs).sort((a, b) => a - b),
      droppedMs: dropped.map((c) => c.conn.droppedAt - sinceMs).sort((a, b) => a - b),
      complete: back.filter((c) => c.conn.gaps === 0 && c.conn.duplicates === 0 && c.conn.lastN >= (until[c.channel] ?? 0)).length,
      recovered: dropped.filter((c) => c.conn.recovered).length,
    } satisfies RecoveryReport;
  },

  async heal() {
    if (!plan) return { connected: 0, failed: 0, ms: 0, errors: [] };
    const dead = connections.filter((c) => c.conn.dead);
    connections = connections.filter((c) => !c.conn.dead);
    const fresh = dead.map((c) => ({ ...c, conn: create(plan!, { ...c.setup }) }));
    connections.push(...fresh);
    return openAll(fresh.map((c) => c.conn), plan.concurrency);
  },

  close() {
    for (const c of connections) c.conn.close();
    connections = [];
    return {};
  },
});

function create(next: ConnectPlan, setup: ConnectionSetup): BenchConnection {
  // The uWS limit server speaks opshub's frames: the same subscriber code measures both.
  if (next.target !== 'socketio') return new OpshubConnection(setup, opshubClient);
  return next.socketioClient === 'lean' ? new LeanSocketioConnection(setup) : new SocketioConnection(setup);
}

/** Opens connections `concurrency` at a time, each retried twice; a connection that never opens is reported. */
async function openAll(list: BenchConnection[], concurrency: number): Promise<ConnectReport> {
  const start = nowMs();
  const errors = new Map<string, number>();
  let failed = 0;
  let next = 0;
  const lane = async () => {
    while (next < list.length) {
      const conn = list[next++]!;
      for (let attempt = 0; ; attempt++) {
        try {
          await withTimeout(conn.open(), 30_000);
          break;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (attempt < 2) {
            conn.close();
            continue;
          }
          failed++;
          errors.set(message, (errors.get(message) ?? 0) + 1);
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, lane));
  return {
    connected: list.length - failed,
    failed,
    ms: nowMs() - start,
    errors: [...errors].map(([message, count]) => `${count}× ${message}`),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not open within ${ms} ms`)), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e)),
    );
  });
}

function behind(until: Record<string, number>): { behind: number; missing: number; deadBehind: number; deadMissing: number } {
  let count = 0;
  let missing = 0;
  let deadBehind = 0;
  let deadMissing = 0;
  for (const { conn, channel } of connections) {
    const last = until[channel];
    if (last === undefined || conn.lastN >= last) continue;
    count++;
    missing += last - conn.lastN;
    if (conn.dead) {
      deadBehind++;
      deadMissing += last - conn.lastN;
    }
  }
  return { behind: count, missing, deadBehind, deadMissing };
}
