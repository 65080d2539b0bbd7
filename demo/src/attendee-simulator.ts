import type { DemoTicket } from './demo-event.ts';

/** A gate the simulator can scan at: its agent's local HTTP API. */
export interface SimGate {
  readonly id: string;
  readonly url: string;
}

export interface SimulatorStats {
  scans: number;
  verdicts: Record<string, number>;
  failures: number;
}

/**
 * Simulated attendees: arrivals follow a "doors open" curve (a ramp to a peak, then a steady trickle), a share of the
 * people inside leave or step out and come back, VIP holders visit the lounge, and now and then somebody presents an
 * invalid code or a ticket already used at another entrance. Every scan goes through a real agent's `POST /scan`.
 */
export class AttendeeSimulator {
  readonly stats: SimulatorStats = { scans: 0, verdicts: {}, failures: 0 };
  #timer: NodeJS.Timeout | undefined;
  #started = Date.now();
  readonly #outside: DemoTicket[];
  readonly #inside: DemoTicket[] = [];
  readonly #inLounge = new Set<string>();

  constructor(
    private readonly tickets: readonly DemoTicket[],
    private readonly entrances: readonly SimGate[],
    private readonly lounge: SimGate | undefined,
    private readonly options = { peakPerSecond: 12, rampSeconds: 45, tickMs: 250 },
  ) {
    this.#outside = [...tickets].sort(() => Math.random() - 0.5);
  }

  start(): void {
    this.#started = Date.now();
    this.#timer = setInterval(() => void this.#tick(), this.options.tickMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Arrivals per second now: a ramp up to the peak as doors open, then a third of it. */
  rate(): number {
    const t = (Date.now() - this.#started) / 1000;
    const { peakPerSecond, rampSeconds } = this.options;
    if (t < rampSeconds) return peakPerSecond * (t / rampSeconds);
    if (t < rampSeconds * 3) return peakPerSecond;
    return peakPerSecond / 3;
  }

  async #tick(): Promise<void> {
    const perTick = this.rate() * (this.options.tickMs / 1000);
    const arrivals = Math.floor(perTick) + (Math.random() < perTick % 1 ? 1 : 0);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < arrivals && this.#outside.length > 0; i++) {
      const ticket = this.#outside.pop()!;
      jobs.push(this.#scan(pick(this.entrances), ticket.code, 'in').then((v) => (v === 'admitted' ? void this.#inside.push(ticket) : undefined)));
    }
    // Some people leave; a few come back later.
    if (this.#inside.length > 50 && Math.random() < 0.3) {
      const [ticket] = this.#inside.splice(Math.floor(Math.random() * this.#inside.length), 1);
      if (ticket && !this.#inLounge.has(ticket.code)) {
        jobs.push(this.#scan(pick(this.entrances), ticket.code, 'out').then(() => void (Math.random() < 0.5 && this.#outside.unshift(ticket))));
      }
    }
    // VIP holders drift into the lounge.
    if (this.lounge && Math.random() < 0.25) {
      const vip = this.#inside.find((t) => t.type === 'vip' && !this.#inLounge.has(t.code));
      if (vip) {
        this.#inLounge.add(vip.code);
        jobs.push(this.#scan(this.lounge, vip.code, 'in').then(() => undefined));
      }
    }
    // Now and then: a forged code, or a ticket already inside shown at another entrance.
    if (Math.random() < 0.03) jobs.push(this.#scan(pick(this.entrances), `FAKE-${Math.floor(Math.random() * 1e6)}`, 'in').then(() => undefined));
    if (Math.random() < 0.02 && this.#inside.length > 0) jobs.push(this.#scan(pick(this.entrances), pick(this.#inside).code, 'in').then(() => undefined));
    await Promise.all(jobs);
  }

  async #scan(gate: SimGate, code: string, dir: 'in' | 'out'): Promise<string | undefined> {
    try {
      const res = await fetch(`${gate.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, dir }) });
      const { verdict } = (await res.json()) as { verdict?: string };
      this.stats.scans++;
      if (verdict) this.stats.verdicts[verdict] = (this.stats.verdicts[verdict] ?? 0) + 1;
      return verdict;
    } catch {
      this.stats.failures++;
      return undefined;
    }
  }
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}
