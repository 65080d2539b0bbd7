import { sql, type Kysely } from 'kysely';
import { pushLevels, pushLimits, type PushDelivery, type PushKind, type PushLevel, type PushNotification, type PushSubscriptionState } from '@opshub/schema';
import type { Database } from '@opshub/schema/db';
import type { PushJobRow } from '@opshub/schema/db-push';
import { ConflictError } from '../errors.ts';

/**
 * Web push in the Store: browsers' subscriptions, and the send queue every hub process shares (see
 * `schema/src/migrations/0013-push.ts` for why it is a table and how claims keep a push from going out twice).
 */

export interface NewPushSubscription {
  event: string;
  endpoint: string;
  owner: string;
  role: string;
  p256dh: string;
  auth: string;
  announcements: PushLevel;
  sessions: readonly string[];
}

/** The lowest announcement level a subscription receives, as stored. */
export const levelRank = (level: PushLevel): number => pushLevels.indexOf(level);

/**
 * Stores a browser's subscription for an event, or replaces what an endpoint already registered (the browser
 * re-subscribed, changed its choices, or another identity now holds that browser): the endpoint is the key.
 * @throws {ConflictError} when the owner already has `pushLimits.subscriptionsPerOwner` other devices for the event
 * @example await upsertPushSubscription(db, { event: 'expo', endpoint, owner: 'att-1', role: 'attendee', p256dh, auth, announcements: 'info', sessions: ['keynote'] });
 */
export async function upsertPushSubscription(db: Kysely<Database>, input: NewPushSubscription): Promise<PushSubscriptionState> {
  const { others } = await db
    .selectFrom('push_subscriptions')
    .select((eb) => eb.fn.countAll<string | number>().as('others'))
    .where('event_id', '=', input.event)
    .where('owner', '=', input.owner)
    .where('endpoint', '<>', input.endpoint)
    .executeTakeFirstOrThrow();
  if (Number(others) >= pushLimits.subscriptionsPerOwner) {
    throw new ConflictError('push subscription', input.owner, `at most ${pushLimits.subscriptionsPerOwner} devices per person and event receive pushes; unsubscribe one first`);
  }
  const values = {
    owner: input.owner,
    role: input.role,
    p256dh: input.p256dh,
    auth: input.auth,
    min_level: levelRank(input.announcements),
    sessions: [...input.sessions],
  };
  await db
    .insertInto('push_subscriptions')
    .values({ event_id: input.event, endpoint: input.endpoint, ...values })
    .onConflict((oc) => oc.columns(['event_id', 'endpoint']).doUpdateSet({ ...values, updated_at: sql<Date>`now()` }))
    .execute();
  return { endpoint: input.endpoint, announcements: input.announcements, sessions: [...input.sessions] };
}

/**
 * Removes a subscription; only its owner's, unless `anyOwner` (staff tidying up). True when one was removed.
 * @example await deletePushSubscription(db, { event: 'expo', endpoint, owner: 'att-1' });
 */
export async function deletePushSubscription(db: Kysely<Database>, input: { event: string; endpoint: string; owner: string; anyOwner?: boolean }): Promise<boolean> {
  let query = db.deleteFrom('push_subscriptions').where('event_id', '=', input.event).where('endpoint', '=', input.endpoint);
  if (!input.anyOwner) query = query.where('owner', '=', input.owner);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Who receives a push: announcements at `level` or above, a session's followers, or one owner's devices. */
export type PushAudience = { kind: 'level'; level: PushLevel } | { kind: 'session'; session: string } | { kind: 'owner'; owner: string };

export interface NewPushJob {
  id: string;
  event: string;
  kind: PushKind;
  ref: string;
  /** the notification; `url` may be left to each subscription (see `notificationFor` in streams/push) */
  notification: Omit<PushNotification, 'url'> & { url?: string | undefined };
  urgency: 'normal' | 'high';
  ttlSeconds: number;
  topic: string | undefined;
  priority: number;
  audience: PushAudience;
}

/** Stores a push to send; its deliveries are created by {@link fanOutStep}. */
export async function insertPushJob(db: Kysely<Database>, job: NewPushJob): Promise<void> {
  await db
    .insertInto('push_jobs')
    .values({
      id: job.id,
      event_id: job.event,
      kind: job.kind,
      ref: job.ref,
      payload: JSON.stringify(job.notification),
      urgency: job.urgency,
      ttl_seconds: job.ttlSeconds,
      topic: job.topic ?? null,
      priority: job.priority,
      audience_kind: job.audience.kind,
      audience: job.audience.kind === 'level' ? String(levelRank(job.audience.level)) : job.audience.kind === 'session' ? job.audience.session : job.audience.owner,
      expires_at: sql<Date>`now() + make_interval(secs => ${job.ttlSeconds})`,
    })
    .execute();
}

/**
 * One step of fanning a push out to its subscriptions: takes a push whose deliveries are not all created yet (one no
 * other hub is working on: `skip locked`), creates the next `chunk` of them, and moves its cursor. Any hub may take
 * any step; small steps keep each statement short, which matters on PGlite (it runs on the hub's own thread).
 * @returns what was done, or undefined when no push needs fanning out
 */
export async function fanOutStep(db: Kysely<Database>, { chunk, job: only }: { chunk: number; job?: string }): Promise<{ job: string; event: string; added: number; done: boolean } | undefined> {
  return db.transaction().execute(async (trx) => {
    let query = trx
      .selectFrom('push_jobs')
      .select(['id', 'event_id', 'priority', 'audience_kind', 'audience', 'fan_cursor'])
      .where('fanned_out', '=', false)
      .orderBy('priority')
      .orderBy('created_at')
      .limit(1)
      .forUpdate()
      .skipLocked();
    if (only !== undefined) query = query.where('id', '=', only);
    const job = await query.executeTakeFirst();
    if (!job) return undefined;
    const audience =
      job.audience_kind === 'level'
        ? sql`min_level <= ${Number(job.audience)}`
        : job.audience_kind === 'session'
          ? sql`sessions @> array[${job.audience}]::text[]`
          : sql`owner = ${job.audience}`;
    const step = await sql<{ picked: number; last: string | number | null; added: number }>`
      with picked as (
        select id from push_subscriptions
        where event_id = ${job.event_id} and id > ${job.fan_cursor} and ${audience}
        order by id
        limit ${chunk}
      ), added as (
        insert into push_deliveries (job_id, subscription_id, priority, due_at)
        select ${job.id}, id, ${job.priority}, now() from picked
        on conflict do nothing
        returning 1
      )
      select (select count(*) from picked)::int as picked, (select max(id) from picked) as last, (select count(*) from added)::int as added
    `.execute(trx);
    const { picked, last, added } = step.rows[0]!;
    const done = picked < chunk;
    await trx
      .updateTable('push_jobs')
      .set((eb) => ({
        fan_cursor: last === null ? job.fan_cursor : last,
        fanned_out: done,
        targeted: eb('targeted', '+', added),
      }))
      .where('id', '=', job.id)
      .execute();
    return { job: job.id, event: job.event_id, added, done };
  });
}

export interface ClaimedDelivery {
  job: string;
  subscription: number;
  /** 1 on the first try */
  attempt: number;
}

/**
 * Claims up to `limit` due deliveries for this hub, most urgent first, by moving their `due_at` `leaseMs` ahead: no
 * other hub sees them until then (if this one dies mid-send, another sends them after the lease). One statement.
 */
export async function claimDeliveries(db: Kysely<Database>, { limit, leaseMs }: { limit: number; leaseMs: number }): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<{ job_id: string; subscription_id: string | number; attempts: number }>`
    with due as (
      select job_id, subscription_id from push_deliveries
      where due_at <= now()
      order by priority, due_at
      limit ${limit}
      for update skip locked
    )
    update push_deliveries d
    set due_at = now() + make_interval(secs => ${leaseMs / 1000}), attempts = d.attempts + 1
    from due
    where d.job_id = due.job_id and d.subscription_id = due.subscription_id
    returning d.job_id, d.subscription_id, d.attempts
  `.execute(db);
  return rows.map((r) => ({ job: r.job_id, subscription: Number(r.subscription_id), attempt: r.attempts }));
}

export interface StoredSubscription {
  id: number;
  endpoint: string;
  p256dh: string;
  auth: string;
  sessions: string[];
}

/** The subscriptions with these ids that still exist. */
export async function getSubscriptions(db: Kysely<Database>, ids: readonly number[]): Promise<Map<number, StoredSubscription>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('push_subscriptions')
    .select(['id', 'endpoint', 'p256dh', 'auth', 'sessions'])
    .where('id', 'in', [...ids])
    .execute();
  return new Map(rows.map((r) => [Number(r.id), { id: Number(r.id), endpoint: r.endpoint, p256dh: r.p256dh, auth: r.auth, sessions: r.sessions }]));
}

export interface StoredPushJob {
  id: string;
  event: string;
  kind: PushKind;
  notification: NewPushJob['notification'];
  urgency: NewPushJob['urgency'];
  ttlSeconds: number;
  topic: string | undefined;
  expiresAt: number;
}

/** The pushes with these ids (what a sender needs to send them). */
export async function getPushJobs(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, StoredPushJob>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('push_jobs')
    .select(['id', 'event_id', 'kind', 'payload', 'urgency', 'ttl_seconds', 'topic', 'expires_at'])
    .where('id', 'in', [...ids])
    .execute();
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        event: r.event_id,
        kind: r.kind,
        notification: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as NewPushJob['notification'],
        urgency: r.urgency as NewPushJob['urgency'],
        ttlSeconds: r.ttl_seconds,
        topic: r.topic ?? undefined,
        expiresAt: r.expires_at.getTime(),
      },
    ]),
  );
}

/** What became of one claimed delivery. */
export type DeliveryOutcome = ClaimedDelivery & {
  /** a request went out on this attempt (false: the subscription was gone, or the push out of time, before sending) */
  requested: boolean;
} & ({ result: 'accepted' | 'expired' | 'failed' } | { result: 'retry'; at: Date });

/**
 * Records a batch of outcomes in one transaction: finished deliveries leave the queue and count on their push,
 * expired subscriptions are removed (with every other push still owed to them, counted when it comes up), retries
 * get their next due time. Returns the pushes whose figures changed.
 */
export async function recordOutcomes(db: Kysely<Database>, outcomes: readonly DeliveryOutcome[]): Promise<string[]> {
  if (outcomes.length === 0) return [];
  const perJob = new Map<string, { finished: number[]; sent: number; accepted: number; expired: number; failed: number }>();
  const gone: number[] = [];
  const retries: (DeliveryOutcome & { result: 'retry' })[] = [];
  for (const o of outcomes) {
    let figures = perJob.get(o.job);
    if (!figures) perJob.set(o.job, (figures = { finished: [], sent: 0, accepted: 0, expired: 0, failed: 0 }));
    if (o.attempt === 1 && o.requested) figures.sent++;
    if (o.result === 'retry') {
      retries.push(o);
      continue;
    }
    figures.finished.push(o.subscription);
    figures[o.result]++;
    if (o.result === 'expired') gone.push(o.subscription);
  }
  await db.transaction().execute(async (trx) => {
    for (const [job, f] of perJob) {
      if (f.finished.length > 0) {
        await trx.deleteFrom('push_deliveries').where('job_id', '=', job).where('subscription_id', 'in', f.finished).execute();
      }
      if (f.sent + f.accepted + f.expired + f.failed > 0) {
        await trx
          .updateTable('push_jobs')
          .set((eb) => ({
            sent: eb('sent', '+', f.sent),
            accepted: eb('accepted', '+', f.accepted),
            expired: eb('expired', '+', f.expired),
            failed: eb('failed', '+', f.failed),
          }))
          .where('id', '=', job)
          .execute();
      }
    }
    for (const r of retries) {
      await trx.updateTable('push_deliveries').set({ due_at: r.at }).where('job_id', '=', r.job).where('subscription_id', '=', r.subscription).execute();
    }
    if (gone.length > 0) await trx.deleteFrom('push_subscriptions').where('id', 'in', gone).execute();
  });
  return [...perJob.keys()];
}

/** The delivery figures of one push and its event, or undefined. */
export async function getPushDelivery(db: Kysely<Database>, job: string): Promise<{ event: string; delivery: PushDelivery } | undefined> {
  const row = await db.selectFrom('push_jobs').selectAll().where('id', '=', job).executeTakeFirst();
  return row ? { event: row.event_id, delivery: toDelivery(row) } : undefined;
}

/** An event's latest pushes with their delivery figures, newest first. */
export async function listPushDeliveries(db: Kysely<Database>, event: string, limit: number): Promise<PushDelivery[]> {
  const rows = await db.selectFrom('push_jobs').selectAll().where('event_id', '=', event).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map(toDelivery);
}

/** How many push subscriptions an event has. */
export async function countPushSubscriptions(db: Kysely<Database>, event: string): Promise<number> {
  const { n } = await db.selectFrom('push_subscriptions').select((eb) => eb.fn.countAll<string | number>().as('n')).where('event_id', '=', event).executeTakeFirstOrThrow();
  return Number(n);
}

/** Deliveries still owed (queued or in flight), for `/metrics`. */
export async function countQueuedDeliveries(db: Kysely<Database>): Promise<number> {
  const { n } = await db.selectFrom('push_deliveries').select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
  return Number(n);
}

const EXCERPT_CHARS = 120;

function toDelivery(row: PushJobRow): PushDelivery {
  const n = (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as NewPushJob['notification'];
  const body = n.body.length > EXCERPT_CHARS ? `${n.body.slice(0, EXCERPT_CHARS - 1)}…` : n.body;
  return {
    id: row.id,
    kind: row.kind,
    ref: row.ref,
    ...(n.level ? { level: n.level } : {}),
    title: n.title,
    excerpt: body,
    targeted: row.targeted,
    fannedOut: row.fanned_out,
    sent: row.sent,
    accepted: row.accepted,
    expired: row.expired,
    failed: row.failed,
    createdAt: row.created_at.getTime(),
  };
}
