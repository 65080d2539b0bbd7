import type { AnalyticsEvent } from '../../src/analytics/analytics.ts';

/**
 * The answers the dashboards must give, worked out from the events themselves in the plainest way there is: replay
 * them in time order, one ticket state at a time. Deliberately nothing like the SQL (no pairing windows, no
 * aggregates), so agreement between the two means something.
 */

const visitKinds = new Set(['scan.in.admitted', 'lead.captured', 'lead.rescanned']);
const engagementKinds = { 'poll.vote': 'votes', 'qa.question': 'questions', 'qa.upvote': 'upvotes', 'chat.message': 'chats' } as const;
type Part = (typeof engagementKinds)[keyof typeof engagementKinds];

/** Bucket starts from `from` (inclusive) to `to` (exclusive). */
export function bucketStarts(from: number, to: number, bucketMs: number): number[] {
  const starts: number[] = [];
  for (let t = from; t < to; t += bucketMs) starts.push(t);
  return starts;
}

/**
 * People inside each zone at the end of each bucket: a ticket is inside the zone of its latest admitted scan when that
 * scan is an `in`. `events` must be in time order.
 */
export function expectedOccupancy(events: readonly AnalyticsEvent[], zones: readonly string[], from: number, to: number, bucketMs: number): number[][] {
  const starts = bucketStarts(from, to, bucketMs);
  const where = new Map<string, string>();
  const inside = new Map<string, number>(zones.map((z) => [z, 0]));
  const values = zones.map(() => new Array<number>(starts.length).fill(0));
  let column = 0;
  const snapshotUntil = (ts: number) => {
    while (column < starts.length && starts[column]! + bucketMs <= ts) {
      zones.forEach((z, row) => (values[row]![column] = inside.get(z) ?? 0));
      column++;
    }
  };
  for (const e of events) {
    snapshotUntil(e.ts);
    if (e.kind !== 'scan.in.admitted' && e.kind !== 'scan.out.admitted') continue;
    const ticket = e.ticket!;
    const before = where.get(ticket);
    if (before !== undefined) inside.set(before, (inside.get(before) ?? 0) - 1);
    if (e.kind === 'scan.in.admitted') {
      where.set(ticket, e.zone!);
      inside.set(e.zone!, (inside.get(e.zone!) ?? 0) + 1);
    } else {
      where.delete(ticket);
    }
  }
  snapshotUntil(Number.POSITIVE_INFINITY);
  return values;
}

/** Visits per zone per bucket: admitted entries and badge scans recorded at the zone. */
export function expectedZoneVisits(events: readonly AnalyticsEvent[], zones: readonly string[], from: number, to: number, bucketMs: number): number[][] {
  const values = zones.map(() => new Array<number>(bucketStarts(from, to, bucketMs).length).fill(0));
  for (const e of events) {
    if (!visitKinds.has(e.kind) || e.ts < from || e.ts >= to) continue;
    const row = zones.indexOf(e.zone!);
    if (row >= 0) values[row]![Math.floor((e.ts - from) / bucketMs)]!++;
  }
  return values;
}

/** The session an engagement event counts for: its session, or for chat its room. */
function sessionOf(e: AnalyticsEvent): string {
  if (e.session) return e.session;
  return e.kind === 'chat.message' ? String((e.properties as { room?: string } | undefined)?.room ?? '') : '';
}

/** Engagement parts per session per bucket, for the sessions given (rows in that order). */
export function expectedSessionParts(events: readonly AnalyticsEvent[], sessions: readonly string[], from: number, to: number, bucketMs: number): Record<Part, number[][]> {
  const columns = bucketStarts(from, to, bucketMs).length;
  const parts = Object.fromEntries(Object.values(engagementKinds).map((p) => [p, sessions.map(() => new Array<number>(columns).fill(0))])) as Record<Part, number[][]>;
  for (const e of events) {
    const part = engagementKinds[e.kind as keyof typeof engagementKinds];
    if (!part || e.ts < from || e.ts >= to) continue;
    const row = sessions.indexOf(sessionOf(e));
    if (row >= 0) parts[part][row]![Math.floor((e.ts - from) / bucketMs)]!++;
  }
  return parts;
}

/** Every session's total engagement over all events. */
export function expectedSessionTotals(events: readonly AnalyticsEvent[]): Map<string, Record<Part, number>> {
  const totals = new Map<string, Record<Part, number>>();
  for (const e of events) {
    const part = engagementKinds[e.kind as keyof typeof engagementKinds];
    const session = sessionOf(e);
    if (!part || !session) continue;
    const t = totals.get(session) ?? { votes: 0, questions: 0, upvotes: 0, chats: 0 };
    t[part]++;
    totals.set(session, t);
  }
  return totals;
}

/** A booth's visits and the distinct tickets behind them: entries into its zone plus its own badge scans. */
export function expectedBooth(events: readonly AnalyticsEvent[], booth: { id: string; zone: string }): { visits: number; visitors: Set<string> } {
  let visits = 0;
  const visitors = new Set<string>();
  for (const e of events) {
    const entry = e.kind === 'scan.in.admitted' && e.zone === booth.zone;
    const scan = (e.kind === 'lead.captured' || e.kind === 'lead.rescanned') && e.exhibitor === booth.id;
    if (!entry && !scan) continue;
    visits++;
    visitors.add(e.ticket!);
  }
  return { visits, visitors };
}
