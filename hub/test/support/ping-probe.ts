import { Worker } from 'node:worker_threads';

/** What a ping probe saw: every round trip in ms, in the order they were measured. */
export interface PingFigures {
  readonly rtts: number[];
  /** when each pong arrived, ms since the epoch with sub-ms precision (`performance.timeOrigin + performance.now()`) */
  readonly at: number[];
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * A control client that pings the hub's `/ws` every `intervalMs` (after each pong) from a worker thread, until
 * stopped. Why a worker: the process measuring usually also does the heavy work (builds a 10 MB CSV, reads a gate
 * doc's updates), which would delay the probe's own reading of the pong and be counted against the hub.
 * @example const probe = pingProbe(hub.wsUrl, staffToken); ...; const { p99, max } = await probe.stop();
 */
export function pingProbe(url: string, token: string, intervalMs = 20): { ready: Promise<void>; stop: () => Promise<PingFigures> } {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const WebSocket = require('ws');
     const rtts = [], at = [];
     let stopping = false, sentAt = 0;
     const ws = new WebSocket(workerData.url, { headers: { authorization: 'Bearer ' + workerData.token } });
     const ping = () => { if (stopping) return ws.close(); sentAt = performance.now(); ws.send('{"op":"ping"}'); };
     ws.on('open', ping);
     ws.on('message', (data) => {
       if (JSON.parse(String(data)).op !== 'pong') return;
       if (rtts.length === 0) parentPort.postMessage('ready');
       rtts.push(performance.now() - sentAt);
       at.push(performance.timeOrigin + performance.now());
       setTimeout(ping, workerData.intervalMs);
     });
     ws.on('close', () => parentPort.postMessage({ rtts, at }));
     ws.on('error', (e) => { throw e; });
     parentPort.on('message', () => { stopping = true; });`,
    { eval: true, workerData: { url, token, intervalMs } },
  );
  let onReady!: () => void;
  // Resolves at the first pong: the probe is connected and measuring (a worker can take seconds to start on a loaded machine).
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const done = new Promise<{ rtts: number[]; at: number[] }>((resolve, reject) => {
    worker.on('message', (message: { rtts: number[]; at: number[] } | 'ready') => (message === 'ready' ? onReady() : resolve(message)));
    worker.once('error', reject);
  });
  return {
    ready,
    stop: async () => {
      worker.postMessage('stop');
      const { rtts, at } = await done;
      await worker.terminate();
      return pingFigures(rtts, at);
    },
  };
}

/**
 * The figures of some round trips, with the time each pong arrived.
 * @example const figures = pingFigures(rtts, at);
 */
export function pingFigures(rtts: number[], at: number[]): PingFigures {
  return { rtts, at, p50: percentile(rtts, 0.5), p99: percentile(rtts, 0.99), max: rtts.length > 0 ? Math.max(...rtts) : Number.NaN };
}

/**
 * The round trips whose pong arrived in [from, to] (epoch ms, as `at`).
 * @example const during = pingsBetween(await probe.stop(), burstStart, burstEnd);
 */
export function pingsBetween(figures: PingFigures, from: number, to: number): PingFigures {
  const keep = figures.at.map((t) => t >= from && t <= to);
  return pingFigures(figures.rtts.filter((_, i) => keep[i]), figures.at.filter((_, i) => keep[i]));
}

/** The value at fraction `p` of the sorted values (nearest rank, never past the end). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? Number.NaN;
}
