import type { SqlMigration } from './sql-migration.ts';

/**
 * Web push (issue 16): browsers' subscriptions per event, and a send queue shared by every hub process. Row types:
 * `schema/src/db-push.ts`.
 *
 * The queue is a table so that several hubs share one send without sending anything twice: a hub claims due
 * deliveries with `for update skip locked` and moves their `due_at` past a lease in the same statement, so no other
 * hub sees them until the lease runs out (a hub that died mid-send); a finished delivery is deleted and counted on
 * its job. Deliveries carry no foreign key to their subscription: a subscription removed meanwhile (410, an
 * unsubscribe) is counted as expired when its delivery comes up.
 */
export const push: SqlMigration = {
  up: [
    `create table push_subscriptions (
      id bigint generated always as identity primary key,
      event_id text not null references events (id) on delete cascade,
      endpoint text not null,
      owner text not null,
      role text not null,
      p256dh text not null,
      auth text not null,
      min_level smallint not null default 0 check (min_level between 0 and 2),
      sessions text[] not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (event_id, endpoint)
    )`,
    `create index push_subscriptions_owner_idx on push_subscriptions (event_id, owner)`,
    `create index push_subscriptions_sessions_idx on push_subscriptions using gin (sessions)`,
    `create table push_jobs (
      id text primary key,
      event_id text not null references events (id) on delete cascade,
      kind text not null check (kind in ('announcement', 'session', 'answer')),
      ref text not null,
      payload jsonb not null,
      urgency text not null check (urgency in ('very-low', 'low', 'normal', 'high')),
      ttl_seconds integer not null check (ttl_seconds >= 0),
      topic text,
      priority smallint not null default 1,
      audience_kind text not null check (audience_kind in ('level', 'session', 'owner')),
      audience text not null,
      fan_cursor bigint not null default 0,
      fanned_out boolean not null default false,
      targeted integer not null default 0,
      sent integer not null default 0,
      accepted integer not null default 0,
      expired integer not null default 0,
      failed integer not null default 0,
      created_at timestamptz(3) not null default now(),
      expires_at timestamptz(3) not null
    )`,
    `create index push_jobs_event_idx on push_jobs (event_id, created_at desc, id desc)`,
    `create index push_jobs_fanning_idx on push_jobs (created_at) where not fanned_out`,
    `create table push_deliveries (
      job_id text not null references push_jobs (id) on delete cascade,
      subscription_id bigint not null,
      priority smallint not null,
      attempts integer not null default 0,
      due_at timestamptz(3) not null,
      primary key (job_id, subscription_id)
    )`,
    `create index push_deliveries_due_idx on push_deliveries (priority, due_at)`,
  ],
  down: [`drop table push_deliveries`, `drop table push_jobs`, `drop table push_subscriptions`],
};
