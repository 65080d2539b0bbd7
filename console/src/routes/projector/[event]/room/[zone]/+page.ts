import { error } from '@sveltejs/kit';
import { Id } from '@opshub/schema';
import { loadEvent } from '$lib/api/load-event.ts';
import { canModerate } from '$lib/navigation.ts';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params, parent, fetch }) => {
  const { session } = await parent();
  if (session.kind === 'signed-in' && !canModerate(session.session.claims)) {
    error(403, { message: `The projector view is opened by moderators, staff and admins; you are signed in as ${session.session.claims.role}.` });
  }
  if (!Id.safeParse(params.zone).success) error(404, { message: `"${params.zone}" is not a room id` });
  const page = await loadEvent(fetch, session, params.event);
  if (page && !page.event.zones.some((z) => z.id === params.zone)) error(404, { message: `"${params.zone}" is not a room (zone) of ${page.event.name}` });
  return { page, zone: params.zone };
};
