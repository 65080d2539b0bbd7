import { Id } from '@opshub/schema';

/**
 * The audience page this device had open last, so the installed app (which starts at `/live/`) and a notification
 * without a session of its own come back to it.
 */
const KEY = 'opshub.live.last';

export function rememberAudiencePage(storage: Pick<Storage, 'setItem'>, event: string, session: string): void {
  storage.setItem(KEY, `/live/${encodeURIComponent(event)}/${encodeURIComponent(session)}`);
}

/** The remembered page, when it is an audience page path and nothing else. */
export function lastAudiencePage(storage: Pick<Storage, 'getItem'>): string | undefined {
  const path = storage.getItem(KEY) ?? '';
  const [, live, event, session, ...rest] = path.split('/');
  if (live !== 'live' || rest.length > 0) return undefined;
  const ids = [event, session].map((p) => {
    try {
      return decodeURIComponent(p ?? '');
    } catch {
      return '';
    }
  });
  return ids.every((id) => Id.safeParse(id).success) ? path : undefined;
}
