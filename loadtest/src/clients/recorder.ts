import { LatencyHistogram } from '../core/histogram.ts';
import { nowMs } from '../core/payload.ts';
import type { GroupReport, WindowReport } from '../core/specs.ts';

/** Per-connection sequence state the recorder checks every message against. */
export interface Sequenced {
  /** last `n` seen on the connection's channel; 0 before the first message */
  lastN: number;
  /** this connection's own gaps and duplicates since the window started */
  gaps: number;
  duplicates: number;
}

/** One label's counters (cross-hub reports `local` and `remote` apart). */
class GroupStats {
  readonly histogram = new LatencyHistogram();
  received = 0;
  gaps = 0;
  duplicates = 0;

  report(): GroupReport {
    return { received: this.received, counts: this.histogram.counts, gaps: this.gaps, duplicates: this.duplicates };
  }
}

/**
 * Everything a client worker measures, per window: publish→deliver latency from each payload's `t`, and the
 * sequence of `n` per connection (a jump is loss, a repeat is a duplicate).
 */
export class Recorder {
  readonly #groups = new Map<string, GroupStats>();
  #cpu = process.cpuUsage();
  #start = nowMs();
  closed = 0;

  group(label: string): GroupStats {
    let g = this.#groups.get(label);
    if (!g) {
      g = new GroupStats();
      this.#groups.set(label, g);
    }
    return g;
  }

  /** Hot path: one call per delivered message. */
  message(group: GroupStats, conn: Sequenced, n: number, t: number): void {
    group.histogram.record(nowMs() - t);
    group.received++;
    const last = conn.lastN;
    if (n === last + 1 || last === 0) {
      conn.lastN = n;
    } else if (n <= last) {
      group.duplicates++;
      conn.duplicates++;
    } else {
      group.gaps += n - last - 1;
      conn.gaps += n - last - 1;
      conn.lastN = n;
    }
  }

  reset(): void {
    for (const g of this.#groups.values()) {
      g.histogram.reset();
      g.received = 0;
      g.gaps = 0;
      g.duplicates = 0;
    }
    this.closed = 0;
    this.#cpu = process.cpuUsage();
    this.#start = nowMs();
  }

  report(open: number): WindowReport {
    const cpu = process.cpuUsage(this.#cpu);
    const wallMs = nowMs() - this.#start;
    const groups: Record<string, GroupReport> = {};
    for (const [label, g] of this.#groups) groups[label] = g.report();
    return { groups, cpu: (cpu.user + cpu.system) / 1000 / wallMs, wallMs, closed: this.closed, open };
  }
}

export type { GroupStats };
