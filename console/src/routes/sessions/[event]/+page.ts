import { error } from '@sveltejs/kit';
import { loadEvent } from '$lib/api/load-event.ts';
import { canSetUp } from '$lib/navigation.ts';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params, parent, fetch }) => {
  const { session } = await parent();
  if (session.kind === 'signed-in' && !canSetUp(session.session.claims)) {
    error(403, { message: `The agenda is planned by admin and staff; you are signed in as ${session.session.claims.role}.` });
  }
  return { page: await loadEvent(fetch, session, params.event) };
};
