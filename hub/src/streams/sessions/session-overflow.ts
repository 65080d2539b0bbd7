import { sql } from 'kysely';
import type { ZoneOccupancy } from '@opshub/schema';
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/store.ts';
import type { DirectiveActor, DirectivesStream } from '../directives/directives-stream.ts';
import type { PushService } from '../push/push-stream.ts';

/** The directives the overflow writes are the hub's own: audited, and recognised on release, as this actor. */
export const overflowActor: DirectiveActor = Object.freeze({ sub: 'system', role: 'system' });

/**
 * When a full room is released: at or below this share of its seats (and at least one seat free). The gap keeps the
 * doors from flapping: without it one person leaving and the next arriving would flip the redirect at every gate,
 * each flip a directive written into every replica and a different answer at the door a second apart.
 * @example releaseBelow(400) // 360: the room takes people again once 40 seats are free
 */
export function releaseBelow(capacity: number): number {
  return Math.min(capacity - 1, Math.floor(capacity * 0.9));
}

export interface SessionOverflowOptions {
  readonly store: Store;
  readonly directives: Pick<DirectivesStream, 'changeZone'>;
  readonly push: Pick<PushService, 'toSession'>;
  /** the rooms' occupancy now (the capacity stream's, with staff corrections), for a look not caused by a scan */
  readonly occupancy: (event: string) => Promise<readonly ZoneOccupancy[]>;
  readonly log: Logger;
  /** how often running sessions are looked at without a scan: a session that ends, or starts in a full room (default 5 s) */
  readonly everyMs?: number;
}

/** A session that may need its overflow: running now with an overflow room, or still marked overflowing. */
interface OverflowCandidate {
  readonly id: string;
  readonly title: string;
  readonly zone_id: string;
  readonly overflow_zone_id: string | null;
  readonly capacity: number | null;
  readonly running: boolean;
  readonly overflowing: boolean;
}

/**
 * Overflow rooms (issue 17 item 3): while a session runs and its room (zone) holds as many people as it has seats
 * (the session's capacity, else the room's), the hub marks the room full with the redirect to the session's overflow
 * room, the same directive staff set with `PUT …/zones/{z}/state`, so every gate of the room answers `zone_full`
 * naming the overflow room within a second, also offline from its replica. The room is released (its policy from
 * before put back) when occupancy drops to {@link releaseBelow} or the session ends, is moved or loses its overflow.
 *
 * Marking and releasing claim `sessions.overflow_since` in the transaction that writes the directive, so with
 * several hubs exactly one writes each change; a policy staff changed while the room was marked is theirs and is
 * left as it is. The first marking of a session also pushes "moved to the overflow room" to the browsers that follow
 * the session, once per session (`sessions.overflow_pushed_at`), whichever hub marked it.
 * @example const overflow = new SessionOverflow({ store, directives, push, occupancy, log }); overflow.start(); overflow.check('expo', zones);
 */
export class SessionOverflow {
  readonly #o: SessionOverflowOptions;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** looks run one at a time per event, so a scan's look and the timer's do not race each other within a hub */
  readonly #running = new Map<string, Promise<void>>();

  constructor(options: SessionOverflowOptions) {
    this.#o = options;
  }

  start(): void {
    this.#timer = setInterval(() => void this.sweep(), this.#o.everyMs ?? 5_000);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.all(this.#running.values());
  }

  /**
   * Looks at the event's sessions against its rooms' occupancy (`zones`, or read now when left out). Never rejects:
   * a failed look is logged and the next change or tick looks again.
   */
  check(event: string, zones?: readonly ZoneOccupancy[]): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const previous = this.#running.get(event) ?? Promise.resolve();
    const next = previous
      .then(() => this.#look(event, zones))
      .catch((err: unknown) => this.#o.log.warn({ err, event }, 'session overflow: will look again'));
    this.#running.set(event, next);
    void next.then(() => {
      if (this.#running.get(event) === next) this.#running.delete(event);
    });
    return next;
  }

  /** Looks at every event with a running session that has an overflow room, or a room still marked for one. */
  async sweep(): Promise<void> {
    try {
      const now = new Date();
      const events = await this.#o.store.db
        .selectFrom('sessions')
        .select('event_id')
        .distinct()
        .where((eb) => eb.or([eb('overflow_since', 'is not', null), eb.and([eb('overflow_zone_id', 'is not', null), eb('starts_at', '<=', now), eb('ends_at', '>', now)])]))
        .execute();
      await Promise.all(events.map((e) => this.check(e.event_id)));
    } catch (err) {
      this.#o.log.warn({ err }, 'session overflow: sweep failed; the next tick looks again');
    }
  }

  async #look(event: string, given: readonly ZoneOccupancy[] | undefined): Promise<void> {
    const now = new Date();
    const { rows } = await sql<OverflowCandidate>`
      select id, title, zone_id, overflow_zone_id, capacity,
        (starts_at <= ${now} and ends_at > ${now}) as running,
        (overflow_since is not null) as overflowing
      from sessions
      where event_id = ${event}
        and (overflow_since is not null or (overflow_zone_id is not null and starts_at <= ${now} and ends_at > ${now}))
      order by starts_at, id`.execute(this.#o.store.db);
    if (rows.length === 0) return;
    const zones = new Map((given ?? (await this.#o.occupancy(event))).map((z) => [z.zone, z]));
    for (const session of rows) {
      const room = zones.get(session.zone_id);
      const seats = session.capacity ?? room?.capacity ?? 0;
      const inside = room?.inside ?? 0;
      const wanted = session.running && session.overflow_zone_id !== null && seats > 0;
      if (!session.overflowing && wanted && inside >= seats) await this.#mark(event, session, inside, seats);
      else if (session.overflowing && (!wanted || inside <= releaseBelow(seats))) await this.#release(event, session, inside, seats);
    }
  }

  async #mark(event: string, session: OverflowCandidate, inside: number, seats: number): Promise<void> {
    const overflow = session.overflow_zone_id!;
    const state = await this.#o.directives.changeZone(overflowActor, event, session.zone_id, async (trx, before) => {
      const claimed = await trx
        .updateTable('sessions')
        .set({ overflow_since: new Date(), overflow_restore_full: before.full, overflow_restore_redirect: before.redirect })
        .where('event_id', '=', event)
        .where('id', '=', session.id)
        .where('overflow_since', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (!claimed) return null; // another hub marked it
      return { change: { full: true, redirect: overflow }, why: `session "${session.id}" reached its capacity: ${inside} / ${seats}; overflow to "${overflow}"` };
    });
    if (!state) return;
    this.#o.log.info({ event, session: session.id, zone: session.zone_id, overflow, inside, seats }, 'session room full: gates redirect to the overflow room');
    await this.#tellFollowers(event, session, overflow);
  }

  async #release(event: string, session: OverflowCandidate, inside: number, seats: number): Promise<void> {
    let released = false;
    const { store } = this.#o;
    // A room taken out of the event meanwhile has no policy to put back: the claim alone ends.
    const roomGone = !(await store.db.selectFrom('zones').select('id').where('event_id', '=', event).where('id', '=', session.zone_id).executeTakeFirst());
    if (roomGone) {
      await store.db.updateTable('sessions').set({ overflow_since: null, overflow_restore_full: null, overflow_restore_redirect: null }).where('event_id', '=', event).where('id', '=', session.id).execute();
      return;
    }
    await this.#o.directives.changeZone(overflowActor, event, session.zone_id, async (trx, before) => {
      const claimed = await trx
        .updateTable('sessions')
        .set({ overflow_since: null, overflow_restore_full: null, overflow_restore_redirect: null })
        .where('event_id', '=', event)
        .where('id', '=', session.id)
        .where('overflow_since', 'is not', null)
        .returning(['overflow_restore_full', 'overflow_restore_redirect'])
        .executeTakeFirst();
      if (!claimed) return null; // another hub released it
      released = true;
      // Staff changed the room's policy while it was marked: theirs stands.
      if (before.by !== overflowActor.sub) return null;
      const why = session.running ? `session "${session.id}" back to ${inside} / ${seats}` : `session "${session.id}" ended`;
      return { change: { full: claimed.overflow_restore_full ?? false, redirect: claimed.overflow_restore_redirect }, why };
    });
    if (released) this.#o.log.info({ event, session: session.id, zone: session.zone_id, inside, seats }, 'session room released from its overflow');
  }

  /** "Moved to the overflow room", once per session whichever hub marks it (claimed like the reminders). */
  async #tellFollowers(event: string, session: OverflowCandidate, overflow: string): Promise<void> {
    const claimed = await this.#o.store.db
      .updateTable('sessions')
      .set({ overflow_pushed_at: new Date() })
      .where('event_id', '=', event)
      .where('id', '=', session.id)
      .where('overflow_pushed_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    if (!claimed) return;
    const names = new Map(
      (await this.#o.store.db.selectFrom('zones').select(['id', 'name']).where('event_id', '=', event).where('id', 'in', [session.zone_id, overflow]).execute()).map((z) => [z.id, z.name]),
    );
    const room = names.get(session.zone_id) ?? session.zone_id;
    const overflowRoom = names.get(overflow) ?? overflow;
    await this.#o.push.toSession(event, session.id, {
      title: `${session.title}: moved to the overflow room`,
      body: `${room} is full. Follow ${session.title} live in ${overflowRoom}, with its poll and questions on screen.`,
      tag: `session-${session.id}-overflow`,
      // People are walking to the door now: a notification that arrives after the session has no use.
      ttlSeconds: 15 * 60,
      urgency: 'high',
    });
  }
}
