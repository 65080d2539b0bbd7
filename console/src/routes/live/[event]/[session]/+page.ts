import { error } from '@sveltejs/kit';
import { Id } from '@opshub/schema';
import { loadEvent } from '$lib/api/load-event.ts';
import type { PageLoad } from './$types';

/** The audience page. Signed out, the root layout shows the join form instead (and this returns no event). */
export const load: PageLoad = async ({ params, parent, fetch }) => {
  const { session } = await parent();
  if (!Id.safeParse(params.session).success) error(404, { message: `"${params.session}" is not a session id` });
  return { page: await loadEvent(fetch, session, params.event), sessionId: params.session };
};
