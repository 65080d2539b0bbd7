import { error } from '@sveltejs/kit';
import { Id } from '@opshub/schema';
import type { PageLoad } from './$types';

/**
 * The booth app loads nothing from the hub before it shows: it must open on a phone with no network (the service
 * worker serves the page, IndexedDB the captures and the last lead list). Only who may use it is checked here; the hub
 * refuses anything else anyway.
 */
export const load: PageLoad = async ({ params, parent }) => {
  const { session } = await parent();
  if (!Id.safeParse(params.event).success || !Id.safeParse(params.exhibitor).success) error(404, { message: 'not a booth address' });
  if (session.kind !== 'signed-in') return { booth: null };
  const { claims } = session.session;
  const own = claims.role === 'exhibitor' && claims.exhibitor === params.exhibitor;
  if (!own && claims.role !== 'admin') {
    error(403, { message: claims.role === 'exhibitor' ? `This phone is signed in for booth ${claims.exhibitor ?? '(none)'}, not ${params.exhibitor}.` : `The booth app is for booth staff; you are signed in as ${claims.role}.` });
  }
  return { booth: { event: params.event, exhibitor: params.exhibitor, token: session.session.token, staff: claims.sub } };
};
