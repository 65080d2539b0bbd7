import { readFileSync } from 'node:fs';
import { median } from '../core/stats.ts';
import type { ClientPool } from '../driver/client-pool.ts';
import type { ServerHandle } from '../driver/server-handle.ts';
import { measureWindow } from './measure.ts';

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ: 100 on every Linux the bench runs on). */
const USER_HZ = 100;

/**
 * The server's CPU time so far (user + system, every thread), in ms, from /proc/PID/stat: read from outside, so
 * it counts what the process really used whatever it reports about itself.
 * @example const ms = processCpuMs(server.pid);
 */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: fields are counted from after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
}

export interface PairedSide {
  readonly label: string;
  readonly server: ServerHandle;
  readonly clients: ClientPool;
}

/**
 * Server CPU per delivery in paired, alternating windows: every side publishes the same rate to the same number of
 * subscribers, one window each in turn, `rounds` times, so a neighbour's load on this shared machine falls on all
 * sides alike instead of on whichever ran at a bad moment. Returns each side's median µs per delivery, and each
 * round's ratio to the first side (the median of those ratios is steadier than a ratio of medians).
 */
export async function pairedCpuPerDelivery(
  sides: readonly PairedSide[],
  channel: string,
  rate: number,
  windowMs: number,
  payloadBytes: number,
  rounds: number,
): Promise<{ usPerDelivery: number[]; ratioToFirst: number[] }> {
  const perSide: number[][] = sides.map(() => []);
  const ratios: number[][] = sides.map(() => []);
  for (let round = 0; round < rounds; round++) {
    // Alternate the order too, so no side always runs right after the heaviest.
    const order = sides.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    const us: number[] = [];
    for (const i of order) {
      const { server, clients } = sides[i]!;
      const before = processCpuMs(server.pid);
      const w = await measureWindow(server, clients, [{ channel, rate }], windowMs, payloadBytes, 5000);
      const cpuMs = processCpuMs(server.pid) - before;
      us[i] = (cpuMs * 1000) / Math.max(1, w.clients.all.received);
      perSide[i]!.push(us[i]!);
    }
    sides.forEach((_, i) => ratios[i]!.push(us[i]! / us[0]!));
  }
  return { usPerDelivery: perSide.map(median), ratioToFirst: ratios.map(median) };
}
