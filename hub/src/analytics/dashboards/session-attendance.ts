import type { SessionAttendance } from '@opshub/schema';
import type { Analytics } from '../analytics.ts';

/** What the Store says about a session; the engine knows who came and who took part. */
export interface SessionFacts {
  readonly event: string;
  readonly id: string;
  readonly zone: string;
  readonly startsAt: number;
  readonly endsAt: number;
  /** the seats counted against: the session's own capacity, else the room's */
  readonly capacity: number;
}

/**
 * A session's attendance, by the gates' own rule, and its engagement per person in the room.
 *
 * A ticket is inside the zone its last admitted `in` scan let it into, until its next admitted scan (an `out`, or an
 * `in` elsewhere): `zone_scans` (schema/clickhouse/002) holds exactly those scans. Pairing each scan of the tickets
 * that ever entered the room with the ticket's previous one gives the moments the room gained (+1) or lost (-1)
 * someone; summed in time order they give the people inside at every moment. From those:
 * - `inRoom`: the sum up to now;
 * - `peak`: the most inside at once between the start and the end (or now);
 * - `unique`: tickets inside at the start, plus tickets admitted into the room during the session.
 *
 * Participants are the distinct people (token `sub`) who voted in the session's polls, asked in its Q&A or wrote in its
 * chat room (a room carries the session's id), over the whole event; `participation` is participants over `unique`.
 * Attendees join the audience page with a code, not with their badge, so people are counted on each side, not matched.
 *
 * @example const figures = await sessionAttendance(analytics, { event: 'expo', id: 'keynote', zone: 'hall', startsAt, endsAt, capacity: 400 });
 */
export async function sessionAttendance(analytics: Analytics, facts: SessionFacts, now = Date.now()): Promise<SessionAttendance> {
  const until = now;
  const end = Math.min(facts.endsAt, now);
  const params = { event: facts.event, zone: facts.zone, start: facts.startsAt, end, until, session: facts.id };
  // The room's changes: rows where a scan moved its ticket into or out of the room (inside-ness differs from before).
  const changes = `
    SELECT tk, ms, toInt64(isIn) - toInt64(wasIn) AS d, isIn FROM (
      SELECT tk, toUnixTimestamp64Milli(ts) AS ms, toUInt8(zone = {zone:String} AND inside = 1) AS isIn,
        lagInFrame(toUInt8(zone = {zone:String} AND inside = 1), 1, toUInt8(0)) OVER (PARTITION BY tk ORDER BY ts, inside ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS wasIn
      FROM zone_scans
      WHERE event = {event:String} AND toUnixTimestamp64Milli(ts) < {until:Int64}
        AND tk IN (SELECT tk FROM zone_scans WHERE event = {event:String} AND zone = {zone:String} AND inside = 1)
    ) WHERE isIn != wasIn`;
  const [occupancy] = await analytics.query<{ inRoom: string; atStart: string; peakDuring: string; during: string }>(
    `SELECT sum(d) AS inRoom, sumIf(d, ms < {start:Int64}) AS atStart,
       maxIf(running, ms >= {start:Int64} AND ms < {end:Int64}) AS peakDuring, countIf(ms >= {start:Int64} AND ms < {end:Int64}) AS during
     FROM (SELECT ms, d, sum(d) OVER (ORDER BY ms, tk ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running FROM (${changes}))`,
    params,
  );
  const [visitors] = await analytics.query<{ unique: string }>(
    `SELECT countIf(insideAtStart OR enteredDuring) AS unique FROM (
       SELECT tk, argMaxIf(isIn, ms, ms < {start:Int64}) = 1 AS insideAtStart, countIf(isIn = 1 AND ms >= {start:Int64} AND ms < {end:Int64}) > 0 AS enteredDuring
       FROM (${changes}) GROUP BY tk)`,
    params,
  );
  const [people] = await analytics.query<{ participants: string; voters: string; askers: string; chatters: string }>(
    `SELECT uniqExact(actor) AS participants, uniqExactIf(actor, kind = 'poll.vote') AS voters,
       uniqExactIf(actor, kind = 'qa.question') AS askers, uniqExactIf(actor, kind = 'chat.message') AS chatters
     FROM events
     WHERE event = {event:String} AND actor != ''
       AND ((kind IN ('poll.vote', 'qa.question') AND session = {session:String})
         OR (kind = 'chat.message' AND session = '' AND JSONExtractString(properties, 'room') = {session:String}))`,
    params,
  );
  const atStart = Number(occupancy?.atStart ?? 0);
  const started = now >= facts.startsAt;
  const peak = started ? Math.max(atStart, Number(occupancy?.during ?? 0) > 0 ? Number(occupancy?.peakDuring ?? 0) : 0) : 0;
  const unique = started ? Number(visitors?.unique ?? 0) : 0;
  const participants = Number(people?.participants ?? 0);
  return {
    session: facts.id,
    zone: facts.zone,
    inRoom: Number(occupancy?.inRoom ?? 0),
    peak,
    unique,
    participants,
    participation: unique > 0 ? participants / unique : null,
    voters: Number(people?.voters ?? 0),
    askers: Number(people?.askers ?? 0),
    chatters: Number(people?.chatters ?? 0),
    capacity: facts.capacity,
    status: now < facts.startsAt ? 'upcoming' : now < facts.endsAt ? 'running' : 'ended',
  };
}
