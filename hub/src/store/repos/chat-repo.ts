import { sql, type Kysely } from 'kysely';
import { defaultChatSettings, type ChatMessage, type ChatSettings, type ModChatMessage, type Mute } from '@opshub/schema';
import type { Database } from '@opshub/schema/db';
import type { ChatMessageRow } from '@opshub/schema/db-engagement';

export type RateDecision = { allowed: true } | { allowed: false; retryInMs: number };

/**
 * Takes one token from the user's bucket, exactly, across hub processes: GCRA ("generic cell rate algorithm") in a
 * single upsert on the database clock. A burst of `burst` is allowed, then one per `intervalMs`. A refused call
 * changes nothing and says how long until the next token.
 *
 * @example
 * const d = await takeRateToken(db, { event: 'expo', bucket: 'chat', user: 'ana', burst: 5, intervalMs: 1000 });
 * if (!d.allowed) throw new ClientError('rate_limited', `try again in ${d.retryInMs} ms`);
 */
export async function takeRateToken(
  db: Kysely<Database>,
  limit: { event: string; bucket: string; user: string; burst: number; intervalMs: number },
): Promise<RateDecision> {
  const t = limit.intervalMs;
  const tolerance = t * (limit.burst - 1);
  // excluded.tat_ms - t is "now" (the inserted value is now + t). The where clause refuses without writing.
  const { rows } = await sql<{ tat_ms: string | number }>`
    insert into rate_limits (event_id, bucket, user_id, tat_ms)
    values (${limit.event}, ${limit.bucket}, ${limit.user}, (extract(epoch from clock_timestamp()) * 1000)::bigint + ${t}::bigint)
    on conflict (event_id, bucket, user_id) do update
      set tat_ms = greatest(rate_limits.tat_ms, excluded.tat_ms - ${t}::bigint) + ${t}::bigint
      where greatest(rate_limits.tat_ms, excluded.tat_ms - ${t}::bigint) - (excluded.tat_ms - ${t}::bigint) <= ${tolerance}::bigint
    returning tat_ms
  `.execute(db);
  if (rows.length > 0) return { allowed: true };
  const { rows: state } = await sql<{ wait_ms: string | number }>`
    select greatest(tat_ms - (extract(epoch from clock_timestamp()) * 1000)::bigint - ${tolerance}::bigint, 1) as wait_ms
    from rate_limits where event_id = ${limit.event} and bucket = ${limit.bucket} and user_id = ${limit.user}
  `.execute(db);
  return { allowed: false, retryInMs: Number(state[0]?.wait_ms ?? t) };
}

export interface SendState {
  eventExists: boolean;
  /** when the sender's mute ends, if muted now */
  mutedUntil: Date | null;
  /** ms until then, by the database clock */
  mutedForMs: number;
  /** the event's restricted word list version (0 when it has none) */
  wordsVersion: number;
  settings: ChatSettings;
}

/**
 * Everything `chat.send` checks before writing, in one round trip: does the event exist, is the sender muted, which
 * word list version applies, how the room is set.
 */
export async function chatSendState(db: Kysely<Database>, event: string, room: string, user: string): Promise<SendState> {
  const { rows } = await sql<{
    event_exists: boolean;
    muted_until: Date | null;
    muted_for_ms: number | null;
    words_version: number | null;
    filter: 'mask' | 'hold' | null;
    open: boolean | null;
  }>`
    select
      exists (select 1 from events where id = ${event}) as event_exists,
      m.until as muted_until,
      (extract(epoch from (m.until - clock_timestamp())) * 1000)::float8 as muted_for_ms,
      (select version from chat_word_lists where event_id = ${event}) as words_version,
      r.filter, r.open
    from (select 1) as one
    left join chat_mutes m on m.event_id = ${event} and m.user_id = ${user} and m.until > clock_timestamp()
    left join chat_rooms r on r.event_id = ${event} and r.room = ${room}
  `.execute(db);
  const row = rows[0]!;
  return {
    eventExists: row.event_exists,
    mutedUntil: row.muted_until,
    mutedForMs: Math.max(0, Number(row.muted_for_ms ?? 0)),
    wordsVersion: row.words_version ?? 0,
    settings: { filter: row.filter ?? defaultChatSettings.filter, open: row.open ?? defaultChatSettings.open },
  };
}

export async function getChatSettings(db: Kysely<Database>, event: string, room: string): Promise<ChatSettings> {
  const row = await db.selectFrom('chat_rooms').select(['filter', 'open']).where('event_id', '=', event).where('room', '=', room).executeTakeFirst();
  return row ? { filter: row.filter, open: row.open } : { ...defaultChatSettings };
}

/** Changes what `patch` names; pass a transaction (the row is locked between read and write). */
export async function updateChatSettings(
  trx: Kysely<Database>,
  event: string,
  room: string,
  patch: Partial<ChatSettings>,
  by: string,
): Promise<{ before: ChatSettings; after: ChatSettings }> {
  await trx
    .insertInto('chat_rooms')
    .values({ event_id: event, room, filter: defaultChatSettings.filter, open: defaultChatSettings.open, updated_by: by })
    .onConflict((oc) => oc.columns(['event_id', 'room']).doNothing())
    .execute();
  const row = await trx.selectFrom('chat_rooms').select(['filter', 'open']).where('event_id', '=', event).where('room', '=', room).forUpdate().executeTakeFirstOrThrow();
  const before: ChatSettings = { filter: row.filter, open: row.open };
  const after: ChatSettings = { filter: patch.filter ?? before.filter, open: patch.open ?? before.open };
  await trx
    .updateTable('chat_rooms')
    .set({ filter: after.filter, open: after.open, updated_by: by, updated_at: sql<Date>`now()` })
    .where('event_id', '=', event)
    .where('room', '=', room)
    .execute();
  return { before, after };
}

/** The event's restricted words (sorted) and the list's version (0 when never edited). */
export async function getWordList(db: Kysely<Database>, event: string): Promise<{ words: string[]; version: number }> {
  const row = await db.selectFrom('chat_word_lists').select(['words', 'version']).where('event_id', '=', event).executeTakeFirst();
  return row ? { words: row.words, version: row.version } : { words: [], version: 0 };
}

/**
 * Adds and removes restricted words (lower-cased; removals win over additions of the same word), bumping the version
 * that tells every hub to recompile its filter. Pass a transaction: the row is locked between read and write.
 * @throws {RangeError} when the list would exceed `max` words
 */
export async function editWordList(
  trx: Kysely<Database>,
  edit: { event: string; add: readonly string[]; remove: readonly string[]; by: string; max: number },
): Promise<{ before: string[]; after: string[]; version: number }> {
  await trx
    .insertInto('chat_word_lists')
    .values({ event_id: edit.event, words: [], version: 0, updated_by: edit.by })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .execute();
  const row = await trx.selectFrom('chat_word_lists').select(['words']).where('event_id', '=', edit.event).forUpdate().executeTakeFirstOrThrow();
  const removed = new Set(edit.remove.map((w) => w.toLowerCase()));
  const words = new Set([...row.words, ...edit.add.map((w) => w.toLowerCase())]);
  for (const w of removed) words.delete(w);
  const after = [...words].sort();
  if (after.length > edit.max) throw new RangeError(`the restricted word list holds at most ${edit.max} words`);
  const updated = await trx
    .updateTable('chat_word_lists')
    .set((eb) => ({ words: after, version: eb('version', '+', 1), updated_by: edit.by, updated_at: sql<Date>`now()` }))
    .where('event_id', '=', edit.event)
    .returning('version')
    .executeTakeFirstOrThrow();
  return { before: row.words, after, version: updated.version };
}

export interface NewChatMessage {
  event: string;
  id: string;
  room: string;
  author: string;
  name: string | null;
  text: string;
  original: string | null;
  originalName: string | null;
  masked: boolean;
  status: 'visible' | 'held';
}

export async function insertChatMessage(db: Kysely<Database>, m: NewChatMessage): Promise<ChatMessageRow> {
  return db
    .insertInto('chat_messages')
    .values({
      event_id: m.event,
      id: m.id,
      room: m.room,
      author: m.author,
      name: m.name,
      text: m.text,
      original: m.original,
      original_name: m.originalName,
      masked: m.masked,
      status: m.status,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function lockChatMessage(db: Kysely<Database>, event: string, id: string): Promise<ChatMessageRow | null> {
  return (await db.selectFrom('chat_messages').selectAll().where('event_id', '=', event).where('id', '=', id).forUpdate().executeTakeFirst()) ?? null;
}

/** Sets a message's status as a moderator's decision. */
export async function moderateChatMessage(
  db: Kysely<Database>,
  event: string,
  id: string,
  status: 'visible' | 'deleted',
  by: string,
): Promise<ChatMessageRow> {
  return db
    .updateTable('chat_messages')
    .set({ status, moderated_by: by, moderated_at: sql<Date>`now()` })
    .where('event_id', '=', event)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The latest messages of a room in the given status, returned oldest first; `before` (ms) pages further back. */
export async function listChatMessages(
  db: Kysely<Database>,
  event: string,
  room: string,
  { status, limit, before }: { status: 'visible' | 'held'; limit: number; before?: number | undefined },
): Promise<ChatMessageRow[]> {
  let query = db.selectFrom('chat_messages').selectAll().where('event_id', '=', event).where('room', '=', room).where('status', '=', status);
  if (before !== undefined) query = query.where('created_at', '<', new Date(before));
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.reverse();
}

/**
 * Mutes a user in the whole event until `seconds` from now (database clock); muting again replaces the end.
 * @example const { until } = await muteUser(trx, { event: 'expo', user: 'troll', seconds: 600, reason: null, by: 'mo' });
 */
export async function muteUser(
  db: Kysely<Database>,
  mute: { event: string; user: string; seconds: number; reason: string | null; by: string },
): Promise<{ until: Date; before: Date | null }> {
  const previous = await db
    .selectFrom('chat_mutes')
    .select('until')
    .where('event_id', '=', mute.event)
    .where('user_id', '=', mute.user)
    .where(sql<boolean>`until > clock_timestamp()`)
    .executeTakeFirst();
  const until = sql<Date>`clock_timestamp() + make_interval(secs => ${mute.seconds}::float8)`;
  const row = await db
    .insertInto('chat_mutes')
    .values({ event_id: mute.event, user_id: mute.user, until, reason: mute.reason, muted_by: mute.by })
    .onConflict((oc) =>
      oc.columns(['event_id', 'user_id']).doUpdateSet({ until, reason: mute.reason, muted_by: mute.by, muted_at: sql<Date>`now()` }),
    )
    .returning('until')
    .executeTakeFirstOrThrow();
  return { until: row.until, before: previous?.until ?? null };
}

/** Ends a mute; returns when it would have ended, or null when the user was not muted. */
export async function unmuteUser(db: Kysely<Database>, event: string, user: string): Promise<Date | null> {
  const row = await db
    .deleteFrom('chat_mutes')
    .where('event_id', '=', event)
    .where('user_id', '=', user)
    .returning(['until', sql<boolean>`until > clock_timestamp()`.as('running')])
    .executeTakeFirst();
  return row?.running ? row.until : null;
}

/** Mutes still running, ending soonest first. */
export async function listMutes(db: Kysely<Database>, event: string): Promise<Mute[]> {
  const rows = await db
    .selectFrom('chat_mutes')
    .selectAll()
    .where('event_id', '=', event)
    .where(sql<boolean>`until > clock_timestamp()`)
    .orderBy('until')
    .execute();
  return rows.map((r) => ({ user: r.user_id, until: r.until.getTime(), reason: r.reason, by: r.muted_by, at: r.muted_at.getTime() }));
}

/** The message as the room sees it. */
export function toChatMessage(row: ChatMessageRow): ChatMessage {
  return {
    id: row.id,
    room: row.room,
    author: row.author,
    name: row.name,
    text: row.text,
    masked: row.masked,
    status: row.status,
    at: row.created_at.getTime(),
  };
}

/** The message as moderators see it, with what was sent when the filter changed or held it. */
export function toModChatMessage(row: ChatMessageRow): ModChatMessage {
  return { ...toChatMessage(row), original: row.original, originalName: row.original_name };
}
