import { SessionList, type Session, type ZoneOccupancy } from '@opshub/schema';
import { getJson, problemText } from '$lib/api/hub-api.ts';

/** A session on the agenda, with its room's live occupancy against the seats it has. */
export interface AgendaRow {
  readonly session: Session;
  readonly roomName: string;
  readonly overflowName: string | null;
  readonly inside: number;
  readonly seats: number;
  readonly ratio: number;
  readonly status: 'running' | 'next' | 'later' | 'done';
}

/**
 * The agenda of the control room: the event's sessions (REST, refreshed every minute and on demand) joined with the
 * live occupancy of their rooms (the capacity stream the zones panel already follows). Occupancy is the room's:
 * people inside it now, against the session's own capacity when it has one.
 */
export class AgendaModel {
  sessions: Session[] = $state.raw([]);
  error: string | undefined = $state();
  loaded = $state(false);

  constructor(private readonly deps: { event: string; token: string; fetch?: typeof fetch }) {}

  start(): () => void {
    void this.refresh();
    const timer = setInterval(() => void this.refresh(), 60_000);
    return () => clearInterval(timer);
  }

  async refresh(): Promise<void> {
    try {
      const list = await getJson(this.deps.fetch ?? fetch, `/api/v1/events/${encodeURIComponent(this.deps.event)}/sessions`, this.deps.token, SessionList);
      this.sessions = list.sessions;
      this.error = undefined;
      this.loaded = true;
    } catch (error) {
      this.error = problemText(error);
    }
  }
}

/**
 * Rows for the agenda at `now`: running sessions, then the next ones; sessions that ended more than an hour ago are
 * left out (the agenda is for what the room must act on).
 * @example agendaRows(sessions, zones, Date.now())[0].status // 'running'
 */
export function agendaRows(sessions: readonly Session[], zones: readonly ZoneOccupancy[], now: number): AgendaRow[] {
  const byZone = new Map(zones.map((z) => [z.zone, z]));
  const rows = sessions
    .filter((s) => Date.parse(s.endsAt) > now - 3_600_000)
    .map((session): AgendaRow => {
      const room = byZone.get(session.zone);
      const starts = Date.parse(session.startsAt);
      const ends = Date.parse(session.endsAt);
      const seats = session.capacity ?? room?.capacity ?? 0;
      const inside = room?.inside ?? 0;
      const status = now >= ends ? 'done' : now >= starts ? 'running' : 'later';
      return {
        session,
        roomName: room?.name ?? session.zone,
        overflowName: session.overflow === null ? null : (byZone.get(session.overflow)?.name ?? session.overflow),
        inside,
        seats,
        ratio: seats > 0 ? inside / seats : 0,
        status,
      };
    });
  // The first upcoming session of each room is "next": the one whose queue forms now.
  const nextSeen = new Set<string>();
  return rows.map((row) => {
    if (row.status !== 'later' || nextSeen.has(row.session.zone)) return row;
    nextSeen.add(row.session.zone);
    return { ...row, status: 'next' };
  });
}
