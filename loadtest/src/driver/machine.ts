import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import type { CpuLayout } from '../core/process-group.ts';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly pinning: string;
  readonly date: string;
  /** 1-minute load average when the run started and when it ended: the machine may be shared */
  readonly load: { start: number; end?: number };
}

/** The machine a run measured, for the report and the README table. */
export function describeMachine(layout: CpuLayout, nice = 0): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown CPU',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
    pinning: nice === 0 ? layout.description : `${layout.description}, nice ${nice}`,
    date: new Date().toISOString(),
    load: { start: round1(loadavg()[0]!) },
  };
}

/** Records the load average at the end of the run. */
export function finishMachine(m: Machine): Machine {
  return { ...m, load: { ...m.load, end: round1(loadavg()[0]!) } };
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/**
 * One line naming the machine.
 * @example machineLine(m) // '2 × Intel(R) Xeon(R) Processor, 23.5 GiB, Linux 6.18.44, Node v20.20.2; servers on CPU 0, …'
 */
export function machineLine(m: Machine): string {
  const load = m.load.end === undefined ? `${m.load.start}` : `${m.load.start} → ${m.load.end}`;
  return `${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; ${m.pinning}; load average ${load}`;
}
