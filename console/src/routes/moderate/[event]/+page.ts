import { error } from '@sveltejs/kit';
import { loadEvent } from '$lib/api/load-event.ts';
import { canModerate } from '$lib/navigation.ts';
import type { PageLoad } from './$types';

/** An event's sessions to moderate, and its audience join code. */
export const load: PageLoad = async ({ params, parent, fetch }) => {
  const { session } = await parent();
  if (session.kind === 'signed-in' && !canModerate(session.session.claims)) {
    error(403, { message: `Moderation is for moderators, staff and admins; you are signed in as ${session.session.claims.role}.` });
  }
  return { page: await loadEvent(fetch, session, params.event) };
};
