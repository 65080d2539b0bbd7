import { error } from '@sveltejs/kit';
import { TicketDetail } from '@opshub/schema';
import { getJson, HubApiError } from '$lib/api/hub-api.ts';
import { loadEvent } from '$lib/api/load-event.ts';
import { canSetUp } from '$lib/navigation.ts';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params, parent, fetch, url }) => {
  const { session } = await parent();
  if (session.kind === 'signed-in' && !canSetUp(session.session.claims)) {
    error(403, { message: `Tickets are for admin and staff; you are signed in as ${session.session.claims.role}.` });
  }
  const page = await loadEvent(fetch, session, params.event);
  if (!page) return { page: null, ticket: null, issued: false };
  try {
    const ticket = await getJson(fetch, `/api/v1/events/${encodeURIComponent(params.event)}/tickets/${encodeURIComponent(params.code)}`, page.token, TicketDetail);
    return { page, ticket, issued: url.searchParams.has('issued') };
  } catch (e) {
    if (e instanceof HubApiError) error(e.status === 0 ? 503 : e.status, { message: e.message, code: e.code });
    throw e;
  }
};
