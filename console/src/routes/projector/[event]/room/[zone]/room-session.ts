import type { Session } from '@opshub/schema';

/** What a room's projector shows: a session, and whether it is another room's (this room is its overflow). */
export interface RoomShow {
  readonly session: Session;
  /** true: the session runs in another room and this room is its overflow room */
  readonly overflow: boolean;
}

/**
 * The session a room's projector follows at `now`: a running session that names the room as its overflow first
 * (people sent here came for it: they see its poll and pinned question), else the session running in the room
 * itself, else nothing. Ties go to the earliest start, then id, as the agenda lists them.
 * @example roomShow(sessions, 'annex', Date.now()) // { session: keynote, overflow: true } while the keynote runs
 */
export function roomShow(sessions: readonly Session[], zone: string, now: number): RoomShow | undefined {
  const running = sessions.filter((s) => Date.parse(s.startsAt) <= now && now < Date.parse(s.endsAt));
  const main = running.find((s) => s.overflow === zone);
  if (main) return { session: main, overflow: true };
  const own = running.find((s) => s.zone === zone);
  return own ? { session: own, overflow: false } : undefined;
}
