/**
 * The web push tables as kysely sees them; `migrations/0013-push.ts` creates exactly these. `Database` in `db.ts`
 * extends {@link PushTables}. Type-only kysely imports, as in `db.ts`.
 */
import type { ColumnType, Generated, GeneratedAlways, Selectable } from 'kysely';
import type { CreatedAt } from './db.ts';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** `bigint`: node-postgres reads it as a string, PGlite as a number; the push repository normalises to number. */
type BigintId = ColumnType<string | number, string | number, string | number>;

/** One browser's push subscription for one event, owned by the token `sub` that registered it. */
export interface PushSubscriptionsTable {
  id: GeneratedAlways<string | number>;
  event_id: string;
  endpoint: string;
  owner: string;
  role: string;
  p256dh: string;
  auth: string;
  /** lowest announcement level pushed: 0 info, 1 warning, 2 emergency */
  min_level: number;
  sessions: Generated<string[]>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

/** One push to many subscriptions: an announcement, a session's news, an answered question. */
export interface PushJobsTable {
  id: string;
  event_id: string;
  kind: 'announcement' | 'session' | 'answer';
  ref: string;
  /** the notification without its per-subscription `url` when that is left to the subscription (JSON text) */
  payload: ColumnType<unknown, string, string>;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
  ttl_seconds: number;
  /** the `Topic` header: a push service replaces an undelivered message with the same topic */
  topic: string | null;
  /** 0 first (emergencies), then 1 */
  priority: number;
  /** who receives it: announcements at `min_level` or above, a session's followers, or one owner's devices */
  audience_kind: 'level' | 'session' | 'owner';
  audience: string;
  /** fan-out progress: deliveries exist for every matching subscription with id <= cursor */
  fan_cursor: ColumnType<string | number, string | number | undefined, string | number>;
  fanned_out: Generated<boolean>;
  targeted: Generated<number>;
  sent: Generated<number>;
  accepted: Generated<number>;
  expired: Generated<number>;
  failed: Generated<number>;
  created_at: CreatedAt;
  /** no attempt after this (created + TTL): the push service would drop it anyway */
  expires_at: Timestamp;
}

/** A push still owed to one subscription: claimed by moving `due_at` past the claim's lease. */
export interface PushDeliveriesTable {
  job_id: string;
  subscription_id: BigintId;
  priority: number;
  attempts: Generated<number>;
  due_at: Timestamp;
}

export interface PushTables {
  push_subscriptions: PushSubscriptionsTable;
  push_jobs: PushJobsTable;
  push_deliveries: PushDeliveriesTable;
}

export type PushSubscriptionRow = Selectable<PushSubscriptionsTable>;
export type PushJobRow = Selectable<PushJobsTable>;
