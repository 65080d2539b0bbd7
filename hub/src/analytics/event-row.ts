import type { AnalyticsEvent } from './analytics.ts';

/** One row of the `events` table as sent in `JSONEachRow`. */
export interface EventRow {
  /** epoch milliseconds: a JSON integer is read by `DateTime64(3)` as milliseconds, with no text parsing or timezone */
  ts: number;
  event: string;
  kind: string;
  actor: string;
  zone: string;
  session: string;
  exhibitor: string;
  ticket: string;
  /** the properties as JSON text */
  properties: string;
}

/**
 * The event as one line of `JSONEachRow`, ready to be joined into an insert body. Serializing in `record()` spreads
 * the cost evenly over the live path instead of a pause per batch, and a line is smaller to hold than an object.
 *
 * @example
 * toEventLine({ ts: 1767225600000, event: 'e1', kind: 'poll.vote' });
 * // → '{"ts":1767225600000,"event":"e1","kind":"poll.vote","actor":"",…,"properties":"{}"}'
 */
export function toEventLine(event: AnalyticsEvent): string {
  return JSON.stringify(toEventRow(event));
}

/**
 * Turns a recorded event into the row that will be inserted. Never throws: the row is built inside `record()`, on the
 * live path, so whatever a caller passes becomes a storable row rather than an error or a batch the server refuses.
 * Building it at record time also snapshots `properties`, so a caller may reuse or mutate its object afterwards.
 *
 * @example
 * toEventRow({ ts: Date.now(), event: 'e1', kind: 'poll.vote', session: 's1', properties: { choice: 2 } });
 * // → { ts: 1767225600000, event: 'e1', kind: 'poll.vote', actor: '', …, properties: '{"choice":2}' }
 */
export function toEventRow(event: AnalyticsEvent): EventRow {
  // `event` itself may be anything at run time: record() promises not to throw whatever it is given.
  const e: Partial<AnalyticsEvent> = event ?? {};
  return {
    ts: toMillis(e.ts),
    event: text(e.event),
    kind: text(e.kind),
    actor: text(e.actor),
    zone: text(e.zone),
    session: text(e.session),
    exhibitor: text(e.exhibitor),
    ticket: text(e.ticket),
    properties: propertiesJson(e.properties),
  };
}

// NaN or Infinity would serialize as null and make the server refuse the whole batch, which would then be retried
// forever: the moment of recording is the best stand-in.
function toMillis(ts: unknown): number {
  return typeof ts === 'number' && Number.isFinite(ts) ? Math.trunc(ts) : Date.now();
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

function propertiesJson(properties: unknown): string {
  if (properties === undefined || properties === null) return '{}';
  try {
    return JSON.stringify(properties, bigintAsString) ?? '{}';
  } catch {
    // A cycle: keep the event, lose only its details.
    return '{"unserializable":true}';
  }
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
