import type { AnalyticsClient } from './analytics-client.ts';

/** What to erase from ClickHouse: an event's rows, or the rows of some tickets and actors in it. */
export interface Erasure {
  readonly event: string;
  /** both empty: every row of the event */
  readonly tickets: readonly string[];
  readonly actors: readonly string[];
  /** rows with a larger outbox id were recorded after the request and stay (rows recorded without the outbox have 0) */
  readonly uptoId: number;
}

const kinds = {
  scans: ['scan.in.admitted', 'scan.out.admitted'],
  visits: ['scan.in.admitted', 'lead.captured', 'lead.rescanned'],
  engagement: ['poll.vote', 'qa.question', 'qa.upvote', 'chat.message'],
} as const;

/** The rows an erasure takes, as a condition on `events` (its parameters are {@link paramsOf}'s). */
const ERASED = `(event = {event:String} AND oid <= {upto:UInt64} AND ({whole:UInt8} = 1 OR has({tickets:Array(String)}, ticket) OR has({actors:Array(String)}, actor)))`;
const MINUTE = `toUnixTimestamp(toStartOfMinute(toDateTime(ts, 'UTC')))`;

/**
 * Removes an erasure's rows from `events` and from everything derived from them: `zone_scans`, `zone_visitors`,
 * `zone_visits_1m` and `session_engagement_1m` (schema/clickhouse/002–005). A lightweight `DELETE` on `events` alone
 * would leave the views as they were: they are filled at insert time and never look back.
 *
 * So each derived table is rebuilt where the erased rows touched it (the tickets' scans and visitor rows, the minutes
 * of their visits and engagement): those keys are deleted and computed again from `events` without the erased rows,
 * with the views' own SQL. The raw rows go last. Every step is computed from `events` as it still is, so a run cut
 * short by a crash is simply run again (the relay records an erasure as applied only once this resolves), and a run
 * after a complete one finds nothing to do.
 *
 * The relay that holds the target's lease runs this between two of its inserts, so no batch of the outbox is inserted
 * meanwhile; the outbox no longer holds the rows (`requestErasure` deleted them), so no later batch brings them back.
 * The rebuilt aggregates are inserted with `insert_deduplicate = 0`: a rebuild may well equal an earlier block, and
 * must not be taken for a retry of it.
 *
 * Keep the SELECTs below in step with the materialized views' (the erasure test compares every view with a replay).
 * @example await eraseEvents(client, { event: 'expo', tickets: ['T-1'], actors: ['att-1'], uptoId: 5120 });
 */
export async function eraseEvents(client: Pick<AnalyticsClient, 'command' | 'query'>, erasure: Erasure): Promise<void> {
  const params = paramsOf(erasure);
  const whole = params.whole === 1;
  const keys = async (select: string, kindList: readonly string[]): Promise<string[]> => {
    if (whole) return [];
    const result = await client.query({ query: `SELECT DISTINCT ${select} AS k FROM events WHERE ${ERASED} AND kind IN {kinds:Array(String)}`, format: 'JSONEachRow', query_params: { ...params, kinds: [...kindList] } });
    return ((await result.json()) as { k: string }[]).map((r) => r.k);
  };
  const [tks, visitors, visitMinutes, engagementMinutes] = [
    await keys('toString(cityHash64(ticket))', kinds.scans),
    await keys('ticket', kinds.visits),
    await keys(`toString(${MINUTE})`, kinds.visits),
    await keys(`toString(${MINUTE})`, kinds.engagement),
  ];
  const run = (query: string, extra: Record<string, unknown> = {}) => client.command({ query, query_params: { ...params, ...extra } });
  // Deletes the keys' rows from `table` (`stored`: the key there) and inserts them again from the rows that stay
  // (`fromEvents`: the same key computed on `events`).
  const rebuild = async (table: string, stored: string, fromEvents: string, list: readonly string[], insert: (keep: string) => string) => {
    if (!whole && list.length === 0) return;
    const among = (key: string) => (whole ? '1' : `has({keys:Array(String)}, ${key})`);
    await run(`DELETE FROM ${table} WHERE event = {event:String} AND ${among(stored)}`, { keys: list });
    await run(insert(`event = {event:String} AND NOT ${ERASED} AND ${among(fromEvents)}`), { keys: list });
  };

  await rebuild('zone_scans', 'toString(tk)', 'toString(cityHash64(ticket))', tks, (keep) =>
    `INSERT INTO zone_scans (event, tk, ts, zone, inside) SETTINGS insert_deduplicate = 0
     SELECT event, cityHash64(ticket) AS tk, ts, zone, toUInt8(kind = 'scan.in.admitted') AS inside
     FROM events WHERE kind IN ('scan.in.admitted', 'scan.out.admitted') AND ${keep}`);
  await rebuild('zone_visitors', 'ticket', 'ticket', visitors, (keep) =>
    `INSERT INTO zone_visitors (event, zone, exhibitor, ticket) SETTINGS insert_deduplicate = 0
     SELECT DISTINCT event, zone, exhibitor, ticket
     FROM events WHERE kind IN ('scan.in.admitted', 'lead.captured', 'lead.rescanned') AND ${keep}`);
  await rebuild('zone_visits_1m', 'toString(toUnixTimestamp(minute))', `toString(${MINUTE})`, visitMinutes, (keep) =>
    `INSERT INTO zone_visits_1m (event, zone, exhibitor, minute, visits) SETTINGS insert_deduplicate = 0
     SELECT event, zone, exhibitor, toStartOfMinute(toDateTime(ts, 'UTC')) AS minute, count() AS visits
     FROM events WHERE kind IN ('scan.in.admitted', 'lead.captured', 'lead.rescanned') AND ${keep}
     GROUP BY event, zone, exhibitor, minute`);
  await rebuild('session_engagement_1m', 'toString(toUnixTimestamp(minute))', `toString(${MINUTE})`, engagementMinutes, (keep) =>
    `INSERT INTO session_engagement_1m (event, session, minute, votes, questions, upvotes, chats) SETTINGS insert_deduplicate = 0
     SELECT event, room AS session, minute,
            countIf(kind = 'poll.vote') AS votes, countIf(kind = 'qa.question') AS questions,
            countIf(kind = 'qa.upvote') AS upvotes, countIf(kind = 'chat.message') AS chats
     FROM (
       SELECT event, kind, toStartOfMinute(toDateTime(ts, 'UTC')) AS minute,
              if(kind = 'chat.message' AND session = '', JSONExtractString(properties, 'room'), session) AS room
       FROM events WHERE kind IN ('poll.vote', 'qa.question', 'qa.upvote', 'chat.message') AND ${keep}
     )
     WHERE room != ''
     GROUP BY event, room, minute`);
  await run(`DELETE FROM events WHERE ${ERASED}`);
}

function paramsOf(erasure: Erasure): Record<string, unknown> {
  const whole = erasure.tickets.length === 0 && erasure.actors.length === 0;
  return { event: erasure.event, upto: erasure.uptoId, whole: whole ? 1 : 0, tickets: [...erasure.tickets], actors: [...erasure.actors] };
}
