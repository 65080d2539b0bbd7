import { error } from '@sveltejs/kit';
import { Id, Sponsor } from '@opshub/schema';
import { getJson, HubApiError } from '$lib/api/hub-api.ts';
import { loadEvent } from '$lib/api/load-event.ts';
import type { PageLoad } from './$types';

/** The event and what of the sponsor this token may see (the hub narrows an exhibitor's token to its own booth). */
export const load: PageLoad = async ({ params, parent, fetch }) => {
  const { session } = await parent();
  const page = await loadEvent(fetch, session, params.event);
  if (!page || session.kind !== 'signed-in') return { page: null, sponsor: null, role: null };
  if (!Id.safeParse(params.sponsor).success) error(404, { message: `"${params.sponsor}" is not a sponsor id` });
  try {
    const sponsor = await getJson(fetch, `/api/v1/events/${encodeURIComponent(params.event)}/sponsors/${encodeURIComponent(params.sponsor)}`, page.token, Sponsor);
    return { page, sponsor, role: session.session.claims.role };
  } catch (e) {
    if (e instanceof HubApiError) error(e.status === 0 ? 503 : e.status, { message: e.message, code: e.code });
    throw e;
  }
};
