import type { Kysely } from 'kysely';
import { generateEventKeys, type Ed25519PublicJwk } from '@opshub/replica';
import type { Database } from '@opshub/schema/db';
import type { JWK } from 'jose';

export interface EventKeys {
  readonly publicJwk: Ed25519PublicJwk;
  readonly privateJwk: JWK;
}

/**
 * The event's Ed25519 key pair for signed, offline-valid tickets, created on first use. Two hubs racing to create
 * it agree on whichever row landed first.
 * @example const { publicJwk } = await eventKeys(db, 'expo');
 */
export async function eventKeys(db: Kysely<Database>, event: string): Promise<EventKeys> {
  const existing = await read(db, event);
  if (existing) return existing;
  const fresh = await generateEventKeys();
  await db
    .insertInto('event_keys')
    .values({ event_id: event, public_jwk: JSON.stringify(fresh.publicJwk), private_jwk: JSON.stringify(fresh.privateJwk) })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .execute();
  return (await read(db, event))!;
}

async function read(db: Kysely<Database>, event: string): Promise<EventKeys | undefined> {
  const row = await db.selectFrom('event_keys').select(['public_jwk', 'private_jwk']).where('event_id', '=', event).executeTakeFirst();
  if (!row) return undefined;
  return { publicJwk: parseJson(row.public_jwk) as Ed25519PublicJwk, privateJwk: parseJson(row.private_jwk) as JWK };
}

/** jsonb comes back parsed from pg and PGlite alike, but be tolerant of text. */
function parseJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}
