import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AnnouncementLevel, AnnouncementRow, Database } from '@opshub/schema/db';
import { RECENT_NOTICES, type DocNotices, type GateNotice } from '@opshub/replica';

export interface Announcement {
  id: string;
  event: string;
  text: string;
  level: AnnouncementLevel;
  createdBy: string;
  createdAt: Date;
  /** sent with "hold all gates" */
  holdGates: boolean;
  /** an ended emergency */
  endedAt: Date | null;
  endedBy: string | null;
}

export interface NewAnnouncement {
  /** defaults to a random UUID; pass one to make a retried send idempotent upstream */
  id?: string | undefined;
  event: string;
  text: string;
  level: AnnouncementLevel;
  createdBy: string;
  holdGates?: boolean | undefined;
}

/**
 * Stores an announcement and returns it as stored (with the database's `createdAt`).
 * @example const a = await insertAnnouncement(db, { event: 'expo', text: 'Doors open', level: 'info', createdBy: 'ana' });
 */
export async function insertAnnouncement(db: Kysely<Database>, input: NewAnnouncement): Promise<Announcement> {
  const row = await db
    .insertInto('announcements')
    .values({ id: input.id ?? randomUUID(), event_id: input.event, text: input.text, level: input.level, created_by: input.createdBy, hold_gates: input.holdGates ?? false })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toAnnouncement(row);
}

/**
 * The event's latest announcements, newest first.
 * @example const recent = await listAnnouncements(db, 'expo', 20);
 */
export async function listAnnouncements(db: Kysely<Database>, event: string, limit = 50): Promise<Announcement[]> {
  const rows = await db
    .selectFrom('announcements')
    .selectAll()
    .where('event_id', '=', event)
    .orderBy('created_at', 'desc')
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
  return rows.map(toAnnouncement);
}

/**
 * Ends an emergency (or any announcement) of `event`: sets `ended_at` once. Returns the announcement as ended, or
 * why not.
 * @example const ended = await endAnnouncement(trx, 'expo', id, 'ana');
 */
export async function endAnnouncement(db: Kysely<Database>, event: string, id: string, by: string): Promise<Announcement | 'not_found' | 'already_ended'> {
  const row = await db
    .updateTable('announcements')
    .set({ ended_at: new Date(), ended_by: by })
    .where('event_id', '=', event)
    .where('id', '=', id)
    .where('ended_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (row) return toAnnouncement(row);
  const exists = await db.selectFrom('announcements').select('id').where('event_id', '=', event).where('id', '=', id).executeTakeFirst();
  return exists ? 'already_ended' : 'not_found';
}

/**
 * What the gate screens show (the `announcements` entry of the gate doc's directives): the newest emergency not
 * ended, and the latest few announcements, newest first.
 * @example writeNotices(doc, await currentNotices(trx, 'expo'), Origin.hub);
 */
export async function currentNotices(db: Kysely<Database>, event: string): Promise<DocNotices> {
  const [emergency] = await db
    .selectFrom('announcements')
    .selectAll()
    .where('event_id', '=', event)
    .where('level', '=', 'emergency')
    .where('ended_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('seq', 'desc')
    .limit(1)
    .execute();
  const recent = await listAnnouncements(db, event, RECENT_NOTICES);
  return { emergency: emergency ? toNotice(toAnnouncement(emergency)) : null, recent: recent.filter((a) => a.level !== 'emergency' || a.endedAt === null).map(toNotice) };
}

function toNotice(a: Announcement): GateNotice {
  return { id: a.id, text: a.text, level: a.level, at: a.createdAt.getTime(), ...(a.holdGates ? { holdGates: true as const } : {}) };
}

function toAnnouncement(row: AnnouncementRow): Announcement {
  return {
    id: row.id,
    event: row.event_id,
    text: row.text,
    level: row.level,
    createdBy: row.created_by,
    createdAt: row.created_at,
    holdGates: row.hold_gates,
    endedAt: row.ended_at,
    endedBy: row.ended_by,
  };
}
