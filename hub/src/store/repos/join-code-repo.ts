import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { joinLimits, type JoinCodeState } from '@opshub/schema/join';
import type { Database } from '@opshub/schema/db';

/**
 * A fresh join code: `length` characters drawn uniformly from the look-alike-free alphabet (rejection sampling, so
 * no character is likelier than another).
 * @example generateJoinCode() // 'K7P2QX'
 */
export function generateJoinCode(length: number = joinLimits.generatedLength, random: (n: number) => Uint8Array = randomBytes): string {
  const alphabet = joinLimits.alphabet;
  // The largest multiple of the alphabet's size below 256: bytes at or above it would favour the first characters.
  const limit = 256 - (256 % alphabet.length);
  let code = '';
  while (code.length < length) {
    for (const byte of random(length * 2)) {
      if (byte < limit && code.length < length) code += alphabet[byte % alphabet.length];
    }
  }
  return code;
}

/**
 * The event's join code, or undefined when none was set or generated yet.
 * @example const state = await readJoinCode(db, 'expo'); // { event: 'expo', code: 'K7P2QX', ... }
 */
export async function readJoinCode(db: Kysely<Database>, event: string): Promise<JoinCodeState | undefined> {
  const row = await db.selectFrom('event_join_codes').selectAll().where('event_id', '=', event).executeTakeFirst();
  return row && { event: row.event_id, code: row.code, updatedAt: row.updated_at.getTime(), updatedBy: row.updated_by };
}

/**
 * The event's join code, generated on first use. Two hubs racing agree on whichever row landed first.
 * @example const { code } = await ensureJoinCode(db, 'expo');
 */
export async function ensureJoinCode(db: Kysely<Database>, event: string): Promise<JoinCodeState> {
  const existing = await readJoinCode(db, event);
  if (existing) return existing;
  await db
    .insertInto('event_join_codes')
    .values({ event_id: event, code: generateJoinCode(), updated_by: 'system' })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .execute();
  return (await readJoinCode(db, event))!;
}

/**
 * Sets (or replaces) the event's join code; answers the new state and whether one existed before.
 * @example await setJoinCode(trx, { event: 'expo', code: 'KEYNOTE26', by: 'ana' });
 */
export async function setJoinCode(
  db: Kysely<Database>,
  change: { event: string; code: string; by: string },
): Promise<{ state: JoinCodeState; replaced: boolean }> {
  const before = await readJoinCode(db, change.event);
  await db
    .insertInto('event_join_codes')
    .values({ event_id: change.event, code: change.code, updated_by: change.by })
    .onConflict((oc) => oc.column('event_id').doUpdateSet({ code: change.code, updated_by: change.by, updated_at: sql<Date>`now()` }))
    .execute();
  return { state: (await readJoinCode(db, change.event))!, replaced: before !== undefined };
}

/**
 * How long until `takeRateToken` (chat-repo) would grant a token from this bucket, without taking one: 0 when it
 * would now. Reads the same GCRA row on the database clock, so it agrees with every hub process.
 * @example if ((await rateLimitWait(db, { event: '*', bucket: 'join-fail', user: ip, burst: 10, intervalMs: 6000 })) > 0) refuse();
 */
export async function rateLimitWait(
  db: Kysely<Database>,
  limit: { event: string; bucket: string; user: string; burst: number; intervalMs: number },
): Promise<number> {
  const tolerance = limit.intervalMs * (limit.burst - 1);
  // A take is refused exactly when tat - now > tolerance (see takeRateToken).
  const { rows } = await sql<{ wait_ms: string | number }>`
    select greatest(tat_ms - (extract(epoch from clock_timestamp()) * 1000)::bigint - ${tolerance}::bigint, 0) as wait_ms
    from rate_limits where event_id = ${limit.event} and bucket = ${limit.bucket} and user_id = ${limit.user}
  `.execute(db);
  return Number(rows[0]?.wait_ms ?? 0);
}
