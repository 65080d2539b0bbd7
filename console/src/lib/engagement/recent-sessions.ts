/**
 * Sessions this browser moderated recently, per event, newest first (the hub has no list of sessions: a session
 * exists once it has a question, poll or message).
 * @example const recent = new RecentSessions(localStorage); recent.add('expo', 'keynote'); recent.list('expo') // ['keynote']
 */
export class RecentSessions {
  constructor(
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'>,
    private readonly max = 12,
  ) {}

  list(event: string): string[] {
    try {
      const value: unknown = JSON.parse(this.storage.getItem(keyOf(event)) ?? '[]');
      return Array.isArray(value) ? value.filter((s): s is string => typeof s === 'string') : [];
    } catch {
      return [];
    }
  }

  add(event: string, session: string): void {
    const list = [session, ...this.list(event).filter((s) => s !== session)].slice(0, this.max);
    this.storage.setItem(keyOf(event), JSON.stringify(list));
  }
}

const keyOf = (event: string) => `opshub.sessions.${event}`;
