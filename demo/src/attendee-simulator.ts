import type { DemoTicket } from './demo-event.ts';

/** A gate the simulator can scan at: its agent's local HTTP API. */
export interface SimGate {
  readonly id: string;
  readonly url: string;
}

/** Where people go: the zone they arrive into through its entrances, and the other rooms, each behind its door. */
export interface SimVenue {
  readonly main: { readonly zone: string; readonly entrances: readonly SimGate[] };
  readonly rooms: readonly { readonly zone: string; readonly door: SimGate }[];
}

export interface SimulatorStats {
  scans: number;
  verdicts: Record<string, number>;
  failures: number;
  /** admissions past `zone_full` on a steward's deliberate override, per zone */
  overrides: Record<string, number>;
  /** admitted `in` scans per zone (arrivals and moves) */
  entries: Record<string, number>;
  /** `zone_full` answers per zone */
  refused: Record<string, number>;
}

export interface SimulatorOptions {
  /** arrivals per second at the peak of doors-open */
  peakPerSecond: number;
  rampSeconds: number;
  tickMs: number;
  /** per attendee inside and per second: how often someone walks to another room */
  movePerSecond: number;
  /** per attendee inside and per second: how often someone leaves the venue (half of them come back later) */
  exitPerSecond: number;
  /** share of `zone_full` refusals a steward overrides (a speaker, a wheelchair user's companion) */
  overrideShare: number;
  /** most moves and most exits in one tick, so a full venue does not flood the gates */
  maxPerTick: number;
}

const defaults: SimulatorOptions = { peakPerSecond: 12, rampSeconds: 45, tickMs: 250, movePerSecond: 1 / 120, exitPerSecond: 1 / 900, overrideShare: 0.03, maxPerTick: 3 };

/**
 * Simulated attendees, every scan through a real agent's `POST /scan`: arrivals follow a "doors open" curve (a ramp to
 * a peak, then a steady trickle) through the main zone's entrances; people inside walk to the rooms their ticket
 * allows (an `in` at the room's door: a move) and back to the main zone (an `in` at an entrance), and some leave
 * (`out`) and come back later. A room that answers `zone_full` keeps them where they are (now and then a steward
 * overrides, recorded as such); now and then somebody shows a forged code or a ticket that is already inside.
 * A gate marked down ({@link setDown}: its laptop is off) is avoided, as people queue at the next one.
 */
export class AttendeeSimulator {
  readonly stats: SimulatorStats = { scans: 0, verdicts: {}, failures: 0, overrides: {}, entries: {}, refused: {} };
  readonly #options: SimulatorOptions;
  #timer: NodeJS.Timeout | undefined;
  #started = Date.now();
  readonly #outside: DemoTicket[];
  /** where each attendee inside is */
  readonly #where = new Map<string, { ticket: DemoTicket; zone: string }>();
  /** attendees with a scan in flight: one scan at a time per person */
  readonly #busy = new Set<string>();
  readonly #down = new Set<string>();

  constructor(
    tickets: readonly DemoTicket[],
    private readonly venue: SimVenue,
    options: Partial<SimulatorOptions> = {},
  ) {
    this.#options = { ...defaults, ...options };
    this.#outside = [...tickets].sort(() => Math.random() - 0.5);
  }

  start(): void {
    this.#started = Date.now();
    this.#timer = setInterval(() => void this.#tick(), this.#options.tickMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** A gate whose laptop is off (true) or back (false). */
  setDown(gate: string, down: boolean): void {
    if (down) this.#down.add(gate);
    else this.#down.delete(gate);
  }

  /** People inside per zone, as the simulator knows it. */
  insideByZone(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { zone } of this.#where.values()) out[zone] = (out[zone] ?? 0) + 1;
    return out;
  }

  /** Arrivals per second now: a ramp up to the peak as doors open, then a third of it. */
  rate(): number {
    const t = (Date.now() - this.#started) / 1000;
    const { peakPerSecond, rampSeconds } = this.#options;
    if (t < rampSeconds) return peakPerSecond * (t / rampSeconds);
    if (t < rampSeconds * 3) return peakPerSecond;
    return peakPerSecond / 3;
  }

  async #tick(): Promise<void> {
    const seconds = this.#options.tickMs / 1000;
    const jobs: Promise<void>[] = [];
    const entrances = this.venue.main.entrances.filter((g) => !this.#down.has(g.id));
    if (entrances.length > 0) {
      for (let i = 0; i < count(this.rate() * seconds) && this.#outside.length > 0; i++) jobs.push(this.#arrive(this.#outside.pop()!, pick(entrances)));
    }
    const inside = this.#where.size;
    const moves = Math.min(this.#options.maxPerTick, count(inside * this.#options.movePerSecond * seconds));
    for (let i = 0; i < moves; i++) jobs.push(this.#move(entrances));
    const exits = Math.min(this.#options.maxPerTick, count(inside * this.#options.exitPerSecond * seconds));
    for (let i = 0; i < exits && entrances.length > 0; i++) jobs.push(this.#leave(pick(entrances)));
    // Now and then: a forged code, or a ticket already inside shown at an entrance again.
    if (entrances.length > 0 && Math.random() < 0.03) jobs.push(this.#scan(pick(entrances), `FAKE-${Math.floor(Math.random() * 1e6)}`, 'in').then(() => undefined));
    if (entrances.length > 0 && Math.random() < 0.02) {
      const someone = this.#idle((p) => p.zone === this.venue.main.zone);
      if (someone) {
        this.#busy.add(someone.ticket.code);
        jobs.push(this.#scan(pick(entrances), someone.ticket.code, 'in').then(() => void this.#busy.delete(someone.ticket.code)));
      }
    }
    await Promise.all(jobs);
  }

  async #arrive(ticket: DemoTicket, entrance: SimGate): Promise<void> {
    this.#busy.add(ticket.code);
    const verdict = await this.#scan(entrance, ticket.code, 'in');
    this.#busy.delete(ticket.code);
    if (verdict === 'admitted') this.#admitted(ticket, this.venue.main.zone);
    // Turned away for now (a full hall, a closed gate, a failed request): they try again later.
    else if (verdict === undefined || verdict === 'zone_full' || verdict === 'gate_closed') this.#outside.unshift(ticket);
  }

  /** Someone inside walks to a room their ticket allows, or from a room back to the main zone. */
  async #move(entrances: readonly SimGate[]): Promise<void> {
    const person = this.#idle(() => true);
    if (!person) return;
    const { ticket, zone } = person;
    let target: { zone: string; gate: SimGate } | undefined;
    if (zone === this.venue.main.zone) {
      const rooms = this.venue.rooms.filter((r) => !this.#down.has(r.door.id) && (ticket.zones.length === 0 || ticket.zones.includes(r.zone)));
      const room = rooms.length > 0 ? pick(rooms) : undefined;
      target = room && { zone: room.zone, gate: room.door };
    } else if (entrances.length > 0) {
      target = { zone: this.venue.main.zone, gate: pick(entrances) };
    }
    if (!target) return;
    this.#busy.add(ticket.code);
    try {
      let verdict = await this.#scan(target.gate, ticket.code, 'in');
      if (verdict === 'zone_full') this.stats.refused[target.zone] = (this.stats.refused[target.zone] ?? 0) + 1;
      if (verdict === 'zone_full' && Math.random() < this.#options.overrideShare) {
        verdict = await this.#scan(target.gate, ticket.code, 'in', true);
        if (verdict === 'admitted') this.stats.overrides[target.zone] = (this.stats.overrides[target.zone] ?? 0) + 1;
      }
      if (verdict === 'admitted') this.#admitted(ticket, target.zone);
    } finally {
      this.#busy.delete(ticket.code);
    }
  }

  async #leave(entrance: SimGate): Promise<void> {
    const person = this.#idle(() => true);
    if (!person) return;
    const { ticket } = person;
    this.#busy.add(ticket.code);
    const verdict = await this.#scan(entrance, ticket.code, 'out');
    this.#busy.delete(ticket.code);
    if (verdict !== 'admitted') return;
    this.#where.delete(ticket.code);
    if (Math.random() < 0.5) this.#outside.unshift(ticket);
  }

  #admitted(ticket: DemoTicket, zone: string): void {
    this.#where.set(ticket.code, { ticket, zone });
    this.stats.entries[zone] = (this.stats.entries[zone] ?? 0) + 1;
  }

  /** A random attendee inside, matching `want`, with no scan in flight (a few tries; none is fine). */
  #idle(want: (p: { ticket: DemoTicket; zone: string }) => boolean): { ticket: DemoTicket; zone: string } | undefined {
    if (this.#where.size === 0) return undefined;
    const people = [...this.#where.values()];
    for (let i = 0; i < 5; i++) {
      const p = pick(people);
      if (!this.#busy.has(p.ticket.code) && want(p)) return p;
    }
    return undefined;
  }

  async #scan(gate: SimGate, code: string, dir: 'in' | 'out', override = false): Promise<string | undefined> {
    try {
      const res = await fetch(`${gate.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, dir, ...(override && { override }) }) });
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

/** A whole number of events for an expected count (the fraction decides one more at random). */
function count(expected: number): number {
  return Math.floor(expected) + (Math.random() < expected % 1 ? 1 : 0);
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}
