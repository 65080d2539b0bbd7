import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AnnouncementLevel, AnnouncementRow, Database } from '@opshub/schema/db';

export interface Announcement {
  id: string;
  event: string;
  text: string;
  level: AnnouncementLevel;
  createdBy: string;
  createdAt: Date;
}

export interface NewAnnouncement {
  /** defaults to a random UUID; pass one to make a retried send idempotent upstream */
  id?: string | undefined;
  event: string;
  text: string;
  level: AnnouncementLevel;
  createdBy: string;
}

/**
 * Stores an announcement and returns it as stored (with the database's `createdAt`).
 * @example const a = await insertAnnouncement(db, { event: 'expo', text: 'Doors open', level: 'info', createdBy: 'ana' });
 */
export async function insertAnnouncement(db: Kysely<Database>, input: NewAnnouncement): Promise<Announcement> {
  const row = await db
    .insertInto('announcements')
    .values({ id: input.id ?? randomUUID(), event_id: input.event, text: input.text, level: input.level, created_by: input.createdBy })
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

function toAnnouncement(row: AnnouncementRow): Announcement {
  return { id: row.id, event: row.event_id, text: row.text, level: row.level, createdBy: row.created_by, createdAt: row.created_at };
}
