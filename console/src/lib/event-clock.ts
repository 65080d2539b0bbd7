/**
 * Formats times in the event's time zone, whatever the zone of the machine showing the console: a control room
 * watching a venue abroad reads the venue's clock.
 * @example new EventClock('Europe/Berlin').time(Date.UTC(2026, 4, 1, 8, 30)) // '10:30:00'
 */
export class EventClock {
  readonly #time: Intl.DateTimeFormat;
  readonly #short: Intl.DateTimeFormat;
  readonly #dateTime: Intl.DateTimeFormat;
  readonly timeZone: string;

  constructor(timeZone: string, locale?: string) {
    let zone = timeZone;
    try {
      new Intl.DateTimeFormat(locale, { timeZone: zone });
    } catch {
      // An unknown zone name must not take the console down; UTC is unambiguous and labelled as such.
      zone = 'UTC';
    }
    this.timeZone = zone;
    this.#time = new Intl.DateTimeFormat(locale, { timeZone: zone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    this.#short = new Intl.DateTimeFormat(locale, { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    this.#dateTime = new Intl.DateTimeFormat(locale, {
      timeZone: zone,
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
  }

  /** `14:05:09` */
  time(ms: number): string {
    return this.#time.format(ms);
  }

  /** `14:05` (chart ticks) */
  short(ms: number): string {
    return this.#short.format(ms);
  }

  /** `May 1, 14:05:09` for anything that may be from another day */
  dateTime(ms: number): string {
    return this.#dateTime.format(ms);
  }

  /** A machine-readable timestamp for `<time datetime>` */
  iso(ms: number): string {
    return new Date(ms).toISOString();
  }
}

/**
 * "12 s ago", "3 min ago", "2 h ago": ages for tables that refresh every second.
 * @example ago(Date.now() - 90_000, Date.now()) // '1 min ago'
 */
export function ago(thenMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ago` : `${Math.floor(h / 24)} d ago`;
}
