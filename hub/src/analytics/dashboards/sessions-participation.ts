import type { Session, SessionAttendance, SponsorSummary } from '@opshub/schema';
import type { Analytics } from '../analytics.ts';
import { sessionAttendance } from './session-attendance.ts';

/**
 * The sponsor summary's attendance part: each sponsored session's room figures, and participation (participants over
 * unique attendees) of the sponsored sessions against every session of the agenda. Sessions that have not started
 * count zero attendees and are left out of the averages.
 * @example const attendance = await sponsoredAttendance(analytics, 'expo', agenda, ['keynote'], roomCapacity);
 */
export async function sponsoredAttendance(
  analytics: Analytics,
  event: string,
  agenda: readonly Session[],
  sponsored: readonly string[],
  roomCapacity: (zone: string) => number,
  now = Date.now(),
): Promise<NonNullable<SponsorSummary['attendance']>> {
  const held = agenda.filter((s) => Date.parse(s.startsAt) <= now);
  // One at a time: the embedded engine runs queries in-process, and a summary must not starve the live path.
  const figures: SessionAttendance[] = [];
  for (const s of held) {
    const f = await sessionAttendance(analytics, { event, id: s.id, zone: s.zone, startsAt: Date.parse(s.startsAt), endsAt: Date.parse(s.endsAt), capacity: s.capacity ?? roomCapacity(s.zone) }, now);
    figures.push(f);
  }
  const mine = figures.filter((f) => sponsored.includes(f.session));
  const ratio = (list: typeof figures) => {
    const unique = list.reduce((n, f) => n + f.unique, 0);
    return unique > 0 ? list.reduce((n, f) => n + f.participants, 0) / unique : null;
  };
  const average = (list: typeof figures) => (list.length > 0 ? list.reduce((n, f) => n + f.unique, 0) / list.length : 0);
  return {
    sessions: mine.map((f) => ({ session: f.session, unique: f.unique, peak: f.peak, participants: f.participants, participation: f.participation })),
    sponsoredParticipation: ratio(mine),
    eventParticipation: ratio(figures),
    sponsoredAverageAttendance: average(mine),
    eventAverageAttendance: average(figures),
  };
}
