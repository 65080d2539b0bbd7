import { sql } from 'kysely';
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/store.ts';
import type { PushService } from '../push/push-stream.ts';

export interface SessionRemindersOptions {
  readonly store: Store;
  readonly push: Pick<PushService, 'toSession'>;
  readonly log: Logger;
  /** how long before a session starts its subscribers are told (default 10 minutes) */
  readonly leadMs?: number;
  /** how often the agenda is looked at (default 30 s) */
  readonly everyMs?: number;
}

/** A session whose "about to start" this hub claimed. */
interface DueSession {
  readonly event_id: string;
  readonly id: string;
  readonly title: string;
  readonly zone_name: string | null;
  readonly starts_at: Date;
}

/**
 * "About to start" by web push (issue 16): every `everyMs` each hub claims the sessions starting within `leadMs`
 * whose reminder has not gone out (`sessions.start_pushed_at`, set in the same statement that finds them, so with
 * several hubs exactly one claims each session) and hands each to the push queue for the browsers that chose it.
 * A session moved later than its reminder gets none again; one created or moved inside the window is told at once.
 * @example const reminders = new SessionReminders({ store, push, log }); reminders.start(); … await reminders.close();
 */
export class SessionReminders {
  readonly #o: SessionRemindersOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(options: SessionRemindersOptions) {
    this.#o = options;
  }

  start(): void {
    this.#timer = setInterval(() => void this.remindDue(), this.#o.everyMs ?? 30_000);
    this.#timer.unref();
    void this.remindDue();
  }

  /** Claims and queues the due reminders now; resolves once they are queued (tests call it instead of waiting). */
  remindDue(): Promise<void> {
    this.#running = this.#running.then(() => this.#remind()).catch((err: unknown) => this.#o.log.warn({ err }, 'session reminders: will try again'));
    return this.#running;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async #remind(): Promise<void> {
    const leadMs = this.#o.leadMs ?? 10 * 60_000;
    const now = new Date();
    const until = new Date(now.getTime() + leadMs);
    const { rows } = await sql<DueSession>`
      update sessions s set start_pushed_at = ${now}
      where s.start_pushed_at is null and s.starts_at > ${now} and s.starts_at <= ${until}
      returning s.event_id, s.id, s.title, s.starts_at,
        (select z.name from zones z where z.event_id = s.event_id and z.id = s.zone_id) as zone_name`.execute(this.#o.store.db);
    for (const session of rows) {
      const minutes = Math.max(1, Math.round((new Date(session.starts_at).getTime() - now.getTime()) / 60_000));
      const room = session.zone_name ? ` in ${session.zone_name}` : '';
      await this.#o.push.toSession(session.event_id, session.id, {
        title: `${session.title} starts in ${minutes} min`,
        body: `${session.title}${room}: starting in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
        tag: `session-${session.id}-start`,
      });
    }
  }
}
