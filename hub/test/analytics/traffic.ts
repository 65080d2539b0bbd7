import type { AnalyticsEvent } from '../../src/analytics/analytics.ts';

/**
 * Generated event-day traffic with answers known in advance: attendees arrive, move between halls, visit booths,
 * get their badges scanned by exhibitors, vote, ask, upvote and chat in sessions, and leave. Deterministic for a
 * seed, emitted in time order (a hub records in time order), and streamed, so ten million events need no memory.
 *
 * Kinds and dimensions are exactly what the hub's streams record: `scan.in.admitted` with the gate's zone (and the
 * other verdicts, which change nothing), `lead.captured`/`lead.rescanned` with exhibitor and booth zone,
 * `poll.vote`/`qa.question`/`qa.upvote` with a session, `chat.message` with its room in `properties.room`.
 *
 * @example
 * const plan = trafficPlan({ events: 200_000, seed: 7 });
 * for (const event of generateTraffic(plan)) analytics.record(event);
 */
export interface TrafficPlan {
  readonly event: string;
  readonly seed: number;
  /** exactly this many events are generated */
  readonly events: number;
  /** attendees (each with a ticket) */
  readonly tickets: number;
  /** ms since the epoch of the first arrival window */
  readonly start: number;
  /** mean ms between two actions of one attendee */
  readonly meanGapMs: number;
  /** zones with sessions and chat */
  readonly halls: readonly string[];
  /** one zone per booth */
  readonly booths: readonly { readonly exhibitor: string; readonly zone: string }[];
  readonly sessions: readonly string[];
}

/** A plan with sensible proportions for `events` events (about 100 minutes of traffic for 200,000). */
export function trafficPlan(options: Partial<TrafficPlan> & Pick<TrafficPlan, 'events'>): TrafficPlan {
  const booths = options.booths ?? Array.from({ length: 6 }, (_, i) => ({ exhibitor: `x${i + 1}`, zone: `booth-${i + 1}` }));
  return {
    event: 'expo',
    seed: 1,
    tickets: Math.max(50, Math.round(options.events / 100)),
    start: Date.UTC(2026, 5, 1, 8, 0, 0),
    meanGapMs: 60_000,
    halls: ['hall-a', 'hall-b', 'hall-c', 'vip'],
    sessions: ['keynote', 'panel-1', 'panel-2', 'workshop', 'lobby'],
    ...options,
    booths,
  };
}

/** The zones the plan scans into: halls, then booth zones. */
export function planZones(plan: TrafficPlan): string[] {
  return [...plan.halls, ...plan.booths.map((b) => b.zone)];
}

type Action = (agent: Agent, now: number) => AnalyticsEvent;

interface Agent {
  readonly ticket: string;
  /** the zone the attendee is inside, or null outside */
  zone: string | null;
  next: number;
}

/** Yields `plan.events` events in non-decreasing `ts` order. */
export function* generateTraffic(plan: TrafficPlan): Generator<AnalyticsEvent> {
  const random = mulberry32(plan.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const gap = () => Math.max(1, Math.round(-Math.log(1 - random()) * plan.meanGapMs));
  const boothOf = new Map(plan.booths.map((b) => [b.zone, b.exhibitor]));
  const captured = new Set<string>();
  let scans = 0;
  const scan = (agent: Agent, now: number, dir: 'in' | 'out', verdict: string, zone: string): AnalyticsEvent => ({
    ts: now,
    event: plan.event,
    kind: `scan.${dir}.${verdict}`,
    actor: `device-${zone}`,
    zone,
    ticket: agent.ticket,
    properties: { gate: `gate-${zone}`, scanId: `scan-${++scans}`, duplicate: false },
  });
  const engage = (agent: Agent, now: number): AnalyticsEvent => {
    const session = pick(plan.sessions);
    const roll = random();
    if (roll < 0.3) return { ts: now, event: plan.event, kind: 'poll.vote', actor: agent.ticket, session, properties: { poll: `${session}-p1`, answers: ['1'] } };
    if (roll < 0.45) return { ts: now, event: plan.event, kind: 'qa.question', actor: agent.ticket, session, properties: { status: 'pending' } };
    if (roll < 0.7) return { ts: now, event: plan.event, kind: 'qa.upvote', actor: agent.ticket, session, properties: { upvotes: 1 } };
    // chat is recorded with its room and no session: a session's chat room carries the session's id
    return { ts: now, event: plan.event, kind: 'chat.message', actor: agent.ticket, properties: { room: session, status: 'visible' } };
  };
  // Out of every 86 actions of an attendee inside: 6 hall moves, 9 booth entries, 5 badge scans (at a booth; elsewhere
  // they engage instead), 60 votes, questions, upvotes or chat messages, a few refused scans and one exit. About a
  // fifth of all events are zone scans.
  const inside: [number, Action][] = [
    [6, (a, now) => {
      const to = pick(plan.halls.filter((h) => h !== a.zone));
      a.zone = to;
      return scan(a, now, 'in', 'admitted', to);
    }],
    [9, (a, now) => {
      if (plan.booths.length === 0) return engage(a, now);
      const booth = pick(plan.booths);
      a.zone = booth.zone;
      return scan(a, now, 'in', 'admitted', booth.zone);
    }],
    [5, (a, now) => {
      const exhibitor = a.zone === null ? undefined : boothOf.get(a.zone);
      if (exhibitor === undefined) return engage(a, now);
      const key = `${exhibitor}/${a.ticket}`;
      const first = !captured.has(key);
      captured.add(key);
      return { ts: now, event: plan.event, kind: first ? 'lead.captured' : 'lead.rescanned', actor: `staff-${exhibitor}`, zone: a.zone!, exhibitor, ticket: a.ticket, properties: { lead: key } };
    }],
    [60, engage],
    // a second admission without an exit (another device let them in again): counted once in occupancy
    [1, (a, now) => scan(a, now, 'in', 'admitted', a.zone!)],
    [2, (a, now) => scan(a, now, 'in', 'already_in', a.zone!)],
    [1, (a, now) => scan(a, now, 'out', 'invalid', a.zone!)],
    [1, (a, now) => {
      const from = a.zone!;
      a.zone = null;
      return scan(a, now, 'out', 'admitted', from);
    }],
    [1, (_a, now) => ({ ts: now, event: plan.event, kind: 'announcement.sent', actor: 'staff', properties: { level: 'info' } })],
  ];
  const outside: [number, Action][] = [
    [92, (a, now) => {
      const to = pick(plan.halls);
      a.zone = to;
      return scan(a, now, 'in', 'admitted', to);
    }],
    [8, (a, now) => scan(a, now, 'in', pick(['invalid', 'wrong_zone']), pick(plan.halls))],
  ];
  const choose = weighted(random);

  const arrivalWindow = plan.meanGapMs * 20;
  const heap = new AgentHeap();
  for (let i = 0; i < plan.tickets; i++) heap.push({ ticket: `T-${String(i).padStart(6, '0')}`, zone: null, next: plan.start + Math.floor(random() * arrivalWindow) });
  for (let n = 0; n < plan.events; n++) {
    const agent = heap.pop()!;
    const now = agent.next;
    yield choose(agent.zone === null ? outside : inside)(agent, now);
    agent.next = now + gap();
    heap.push(agent);
  }
}

function weighted(random: () => number) {
  return (table: readonly [number, Action][]): Action => {
    const total = table.reduce((sum, [w]) => sum + w, 0);
    let roll = random() * total;
    for (const [w, action] of table) {
      roll -= w;
      if (roll < 0) return action;
    }
    return table[table.length - 1]![1];
  };
}

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same traffic on every machine. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Binary min-heap of agents by their next action time (ties by ticket, so the order is deterministic). */
class AgentHeap {
  readonly #items: Agent[] = [];

  push(agent: Agent): void {
    const items = this.#items;
    items.push(agent);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): Agent | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let min = i;
        if (l < items.length && before(items[l]!, items[min]!)) min = l;
        if (r < items.length && before(items[r]!, items[min]!)) min = r;
        if (min === i) break;
        [items[i], items[min]] = [items[min]!, items[i]!];
        i = min;
      }
    }
    return top;
  }
}

function before(a: Agent, b: Agent): boolean {
  return a.next < b.next || (a.next === b.next && a.ticket < b.ticket);
}
