import type { Session } from '@opshub/schema';

/**
 * The session form's state and its way to the hub (issue 17 item 1). Times are typed as the venue's wall clock
 * (`<input type="datetime-local">` in the event's time zone, whatever zone the laptop is set to) and sent as instants.
 */
export interface SessionDraft {
  id: string;
  title: string;
  zone: string;
  /** `YYYY-MM-DDTHH:mm`, the event's wall clock */
  startsAt: string;
  endsAt: string;
  /** '' (or null, as a cleared number input binds it) for the room's capacity; a number input binds a number */
  capacity: string | number | null;
  /** '' for none */
  overflow: string;
  sponsor: string;
}

function partsIn(ms: number, timeZone: string): Record<string, number> {
  const format = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  const parts: Record<string, number> = {};
  for (const p of format.formatToParts(ms)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return parts;
}

/** How far the zone's clock is ahead of UTC at `ms`, in ms (Berlin in summer: 7,200,000). */
function offsetAt(ms: number, timeZone: string): number {
  const p = partsIn(ms, timeZone);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - Math.floor(ms / 1000) * 1000;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * An instant as the zone's wall clock, for a `datetime-local` input.
 * @example wallTime(Date.parse('2026-06-01T07:30:00Z'), 'Europe/Berlin') // '2026-06-01T09:30'
 */
export function wallTime(ms: number, timeZone: string): string {
  const p = partsIn(ms, timeZone);
  return `${p.year}-${pad(p.month!)}-${pad(p.day!)}T${pad(p.hour!)}:${pad(p.minute!)}`;
}

/**
 * The instant a zone's wall clock shows `wall` (`YYYY-MM-DDTHH:mm`); NaN when it is not one. A time the clock skips
 * (spring forward) lands an hour later, a time it shows twice (fall back) on the later one.
 * @example instantOf('2026-06-01T09:30', 'Europe/Berlin') // Date.parse('2026-06-01T07:30:00Z')
 */
export function instantOf(wall: string, timeZone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(wall);
  if (!m) return Number.NaN;
  const asUtc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
  // The offset at the guess, then at the corrected instant: two steps settle across a DST change.
  const first = asUtc - offsetAt(asUtc, timeZone);
  return asUtc - offsetAt(first, timeZone);
}

/** A blank form, an hour from the next full hour, in the first room. */
export function blankDraft(zones: readonly { id: string }[], timeZone: string, now = Date.now()): SessionDraft {
  const start = Math.ceil(now / 3_600_000) * 3_600_000;
  return { id: '', title: '', zone: zones[0]?.id ?? '', startsAt: wallTime(start, timeZone), endsAt: wallTime(start + 3_600_000, timeZone), capacity: '', overflow: '', sponsor: '' };
}

/** The form for an existing session. */
export function draftOf(session: Session, timeZone: string): SessionDraft {
  return {
    id: session.id,
    title: session.title,
    zone: session.zone,
    startsAt: wallTime(Date.parse(session.startsAt), timeZone),
    endsAt: wallTime(Date.parse(session.endsAt), timeZone),
    capacity: session.capacity === null ? '' : String(session.capacity),
    overflow: session.overflow ?? '',
    sponsor: session.sponsor ?? '',
  };
}

/**
 * An id from a title, for a new session whose id the planner left empty: lower case, dashes, at most 48 characters.
 * @example idFromTitle('Opening keynote: 2026!') // 'opening-keynote-2026'
 */
export function idFromTitle(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
}

/** What the form sends, or the problems a person can fix before sending (the hub checks everything again). */
export function bodyOf(draft: SessionDraft, timeZone: string): { body: Record<string, unknown> } | { problems: string[] } {
  const problems: string[] = [];
  const title = draft.title.trim();
  if (!title) problems.push('Give the session a title.');
  const id = draft.id.trim() || idFromTitle(title);
  if (!id) problems.push('Give the session an id (letters, digits, dashes).');
  if (!draft.zone) problems.push('Choose the room.');
  const startsAt = instantOf(draft.startsAt, timeZone);
  const endsAt = instantOf(draft.endsAt, timeZone);
  if (Number.isNaN(startsAt)) problems.push('Set when it starts.');
  if (Number.isNaN(endsAt)) problems.push('Set when it ends.');
  if (!Number.isNaN(startsAt) && !Number.isNaN(endsAt) && endsAt <= startsAt) problems.push('It must end after it starts.');
  let capacity: number | null = null;
  const seats = String(draft.capacity ?? '').trim();
  if (seats !== '') {
    capacity = Number(seats);
    if (!Number.isInteger(capacity) || capacity < 1) problems.push('Seats must be a whole number above 0, or empty for the room\'s capacity.');
  }
  if (draft.overflow && draft.overflow === draft.zone) problems.push('The overflow room must be another room.');
  if (problems.length > 0) return { problems };
  return {
    body: { id, title, zone: draft.zone, startsAt: new Date(startsAt).toISOString(), endsAt: new Date(endsAt).toISOString(), capacity, overflow: draft.overflow || null, sponsor: draft.sponsor || null },
  };
}
