import type { SponsorLinks } from '../../auth/permissions.ts';
import { exhibitorOfSponsor } from '../../store/repos/exhibitors-repo.ts';
import type { Store } from '../../store/store.ts';

/**
 * The `linked` permission rule's lookup, answered by the Store on every call: a subscribe or a dashboard request is
 * rare next to the messages it then receives, and an exhibitor moved to another sponsor stops streaming to the old one
 * from the next request on.
 * @example new WsEndpoint({ ..., links: storeSponsorLinks(store) });
 */
export function storeSponsorLinks(store: Store): SponsorLinks {
  return { isLinked: (event, sponsor, exhibitor) => exhibitorOfSponsor(store.db, event, sponsor, exhibitor) };
}
