import { error } from '@sveltejs/kit';
import { Id, Session } from '@opshub/schema';
import { getJson } from '$lib/api/hub-api.ts';
import { loadEvent } from '$lib/api/load-event.ts';
import type { PageLoad } from './$types';

/** The audience page. Signed out, the root layout shows the join form instead (and this returns no event). */
export const load: PageLoad = async ({ params, parent, fetch }) => {
  const { session } = await parent();
  if (!Id.safeParse(params.session).success) error(404, { message: `"${params.session}" is not a session id` });
  const page = await loadEvent(fetch, session, params.event);
  // The agenda's entry gives the page its title, room and times. A room's Q&A and chat need no agenda entry (an
  // ad-hoc session), and the page must open even when this fails: then it names the session by its id.
  const agenda = page
    ? await getJson(fetch, `/api/v1/events/${encodeURIComponent(params.event)}/sessions/${encodeURIComponent(params.session)}`, page.token, Session).catch(() => null)
    : null;
  return { page, sessionId: params.session, agenda };
};
