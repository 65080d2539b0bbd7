import { hasEvent, type Claims, type Exhibitor } from '@opshub/schema';
import { ClientError } from '../../errors.ts';
import { getExhibitor, getSponsor, listExhibitors, type SponsorRecord } from '../../store/repos/exhibitors-repo.ts';
import { sessionsOfSponsor } from '../../store/repos/sessions-repo.ts';
import type { Store } from '../../store/store.ts';

/** What of a sponsor's data a token may see. */
export interface SponsorScope {
  readonly sponsor: SponsorRecord;
  /** every booth of the sponsor, or only the exhibitor's own */
  readonly booths: Exhibitor[];
  /** the sponsored sessions, or none for an exhibitor */
  readonly sessions: string[];
}

/**
 * Who sees a sponsor's dashboard data: admins and staff all of it; the sponsor itself (its token's `sponsor` claim)
 * all of it; an exhibitor of that sponsor only its own booth, without the sponsored sessions; nobody else (`forbidden`,
 * before anything about the sponsor is revealed). The sponsor → exhibitor link is read from the Store, as the `linked`
 * rule of the leads topic reads it.
 * @throws {ClientError} `forbidden`, or `not_found` for an unknown sponsor
 * @example const { booths, sessions } = await sponsorScope(store, claims, 'expo', 'acme');
 */
export async function sponsorScope(store: Store, claims: Claims, event: string, sponsorId: string): Promise<SponsorScope> {
  const forbidden = () => new ClientError('forbidden', `role "${claims.role}" may not read sponsor "${sponsorId}" of event "${event}"`);
  if (!hasEvent(claims, event)) throw forbidden();
  if (claims.role === 'admin' || claims.role === 'staff' || (claims.role === 'sponsor' && claims.sponsor === sponsorId)) {
    const sponsor = await getSponsor(store.db, event, sponsorId);
    if (!sponsor) throw new ClientError('not_found', `sponsor "${sponsorId}" not found`);
    // Sponsored sessions: the sponsor's own list, and the agenda's sessions that name the sponsor (issue 17).
    const sessions = [...new Set([...sponsor.sessions, ...(await sessionsOfSponsor(store.db, event, sponsorId))])].sort();
    return { sponsor, booths: await listExhibitors(store.db, event, { sponsor: sponsorId }), sessions };
  }
  if (claims.role === 'exhibitor' && claims.exhibitor !== undefined) {
    const own = await getExhibitor(store.db, event, claims.exhibitor);
    if (!own || own.sponsor !== sponsorId) throw forbidden();
    const sponsor = await getSponsor(store.db, event, sponsorId);
    if (!sponsor) throw forbidden();
    return { sponsor, booths: [own], sessions: [] };
  }
  throw forbidden();
}
