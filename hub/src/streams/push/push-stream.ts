import { randomUUID } from 'node:crypto';
import type { AnnouncementMessage } from '@opshub/schema';
import type { Bus, SignalListener } from '../../bus/bus.ts';
import type { Logger } from '../../log.ts';
import { insertPushJob, countQueuedDeliveries, type NewPushJob, type PushAudience } from '../../store/repos/push-repo.ts';
import type { Store } from '../../store/store.ts';
import type { HubMetrics } from '../../metrics.ts';
import { DeliveryFigures } from './delivery-figures.ts';
import { EndpointGuard } from './endpoint-guard.ts';
import { announcementNotification, deliveryPolicies, fitNotification, type DraftNotification } from './notifications.ts';
import { PushMetrics } from './push-metrics.ts';
import { SendQueue } from './send-queue.ts';
import type { VapidKeys } from './vapid-keys.ts';
import { WebPushSender, type PushSender } from './web-push-sender.ts';

export interface PushSettings {
  readonly keys: VapidKeys;
  /** `VAPID_SUBJECT`: how a push service reaches the operator (mailto: or https:) */
  readonly subject: string;
  /** `PUSH_ALLOWED_ORIGINS` as origins */
  readonly allowedOrigins: readonly string[];
  /** requests in flight per hub process (`PUSH_CONCURRENCY`) */
  readonly concurrency: number;
  /** sends with this instead of a `WebPushSender` made from the settings (tests: one trusting a stand-in's certificate) */
  readonly sender?: PushSender;
}

/** Session news, as another stream hands it over (see {@link PushService.toSession}). */
export interface SessionNews {
  /** e.g. "Starting in 10 minutes: Keynote" */
  readonly title: string;
  /** e.g. "Room A is full: the session is shown in Room B (overflow)" */
  readonly body: string;
  /** the page a tap opens (a path on the hub); default: the session's audience page */
  readonly url?: string | undefined;
  /** replaces an earlier notification with the same tag on the phone (default: one per session) */
  readonly tag?: string | undefined;
  /** how long a phone that is off may still receive it, in seconds (default 30 minutes) */
  readonly ttlSeconds?: number | undefined;
  /** `high` wakes a sleeping phone at once (default `normal`) */
  readonly urgency?: 'normal' | 'high' | undefined;
}

/** The bus channel that tells other hubs there is push work (an unsequenced signal; polls cover a lost one). */
const WAKE_CHANNEL = 'push.wake';

/**
 * Web push for a hub process: queues pushes in the Store and sends them (with every other hub on the same Store) to
 * the browsers that subscribed. Streams call it after their own work is done; a push never holds up the command
 * that caused it.
 *
 * - `announce(message)`: an announcement, to subscriptions at or above its level (called by the announcements stream);
 * - `toSession(event, session, news)`: "about to start", "moved to the overflow room", to every subscription that
 *   follows the session (for the sessions stream);
 * - `toAttendee(event, sub, …)`: to one person's devices ("your question was answered").
 *
 * Each resolves with the push's id once it is queued; its delivery figures then appear on `event/{e}/push`.
 * @example const push = pushStream({ store, bus, log, metrics, settings }); push.start(); await push.toSession('expo', 'keynote', { title: 'Keynote in 10 minutes', body: 'Hall A' });
 */
export function pushStream(deps: { store: Store; bus: Bus; log: Logger; metrics: HubMetrics; settings: PushSettings }) {
  const { store, bus, log, settings } = deps;
  const metrics = new PushMetrics(deps.metrics.registry, () => countQueuedDeliveries(store.db));
  const guard = new EndpointGuard(settings.allowedOrigins);
  const sender = settings.sender ?? new WebPushSender({ keys: settings.keys, subject: settings.subject, maxSockets: settings.concurrency });
  const figures = new DeliveryFigures({ store, bus, log });
  const queue = new SendQueue({
    store,
    sender,
    guard,
    metrics,
    log,
    concurrency: settings.concurrency,
    onFigures: (jobs) => jobs.forEach((job) => figures.touch(job)),
  });
  const onWake: SignalListener = () => queue.wake();

  async function enqueue(job: Omit<NewPushJob, 'id' | 'topic'>): Promise<string> {
    const id = randomUUID();
    // Topic (≤ 32 base64url characters): a copy sent again after a hub died mid-send replaces the first while undelivered.
    await insertPushJob(store.db, { ...job, id, topic: id.replaceAll('-', '') });
    metrics.queued.inc({ kind: job.kind });
    figures.touch(id);
    queue.wake();
    bus.signal(WAKE_CHANNEL, new Uint8Array(0)).catch(() => {});
    return id;
  }

  async function eventName(event: string): Promise<string> {
    const row = await store.db.selectFrom('events').select('name').where('id', '=', event).executeTakeFirst();
    return row?.name ?? event;
  }

  const toSession = async (event: string, session: string, news: SessionNews): Promise<string> => {
    const policy = deliveryPolicies.session;
    const notification: DraftNotification = fitNotification({
      v: 1,
      kind: 'session',
      event,
      title: news.title,
      body: news.body,
      url: news.url ?? `/live/${encodeURIComponent(event)}/${encodeURIComponent(session)}`,
      tag: news.tag ?? `session-${session}`,
      at: Date.now(),
    });
    return enqueue({
      event,
      kind: 'session',
      ref: session,
      notification,
      urgency: news.urgency ?? policy.urgency,
      ttlSeconds: news.ttlSeconds ?? policy.ttlSeconds,
      priority: policy.priority,
      audience: { kind: 'session', session },
    });
  };

  return {
    /** The key browsers subscribe with (`applicationServerKey`). */
    publicKey: settings.keys.publicKey,
    guard,
    metrics,

    /** Queues an announcement for every subscription at or above its level. */
    async announce(message: AnnouncementMessage): Promise<string> {
      const policy = deliveryPolicies[message.level];
      const audience: PushAudience = { kind: 'level', level: message.level };
      return enqueue({
        event: message.event,
        kind: 'announcement',
        ref: message.id,
        notification: announcementNotification(message, await eventName(message.event)),
        urgency: policy.urgency,
        ttlSeconds: policy.ttlSeconds,
        priority: policy.priority,
        audience,
      });
    },

    /**
     * Session news for everyone following `session` (subscribed with it in `sessions`), whatever their announcement
     * level. For the sessions stream: "about to start", "moved to the overflow room".
     * @example await push.toSession('expo', 'keynote', { title: 'Keynote moved', body: 'Hall A is full: watch it in Hall B', url: '/live/expo/keynote' });
     */
    toSession,

    /**
     * A push to one person's devices for this event (every subscription their token `sub` registered).
     * @example await push.toAttendee('expo', 'att-x1', { kind: 'answer', ref: questionId, title: 'Your question was answered', body: text, url: '/live/expo/keynote#questions', tag: `answer-${questionId}` });
     */
    async toAttendee(event: string, owner: string, message: { kind: 'answer'; ref: string; title: string; body: string; url: string; tag: string }): Promise<string> {
      const policy = deliveryPolicies[message.kind];
      return enqueue({
        event,
        kind: message.kind,
        ref: message.ref,
        notification: fitNotification({ v: 1, kind: message.kind, event, title: message.title, body: message.body, url: message.url, tag: message.tag, at: Date.now() }),
        urgency: policy.urgency,
        ttlSeconds: policy.ttlSeconds,
        priority: policy.priority,
        audience: { kind: 'owner', owner },
      });
    },

    /** Starts claiming work (after the Store and bus have started). */
    async start(): Promise<void> {
      await bus.onSignal(WAKE_CHANNEL, onWake);
      queue.start();
    },

    /** Stops claiming, lets requests in flight finish briefly, records them and publishes the last figures. */
    async close(): Promise<void> {
      await bus.offSignal(WAKE_CHANNEL, onWake).catch(() => {});
      await queue.close();
      await figures.close();
      sender.close();
    },
  };
}

export type PushService = ReturnType<typeof pushStream>;
