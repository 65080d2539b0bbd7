import { loadEvent } from '$lib/api/load-event.ts';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params, parent, fetch }) => {
  const { session } = await parent();
  return { page: await loadEvent(fetch, session, params.event) };
};
