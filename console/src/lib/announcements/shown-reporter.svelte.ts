import type { LiveSocket } from '../live/live-socket.svelte.ts';

/** Where a page shows announcements, as the hub counts it (`announce.shown`). */
export type PageScreen = 'audience' | 'projector' | 'console';

const clientKey = 'opshub.screen-client';
const RETRY_MS = 2000;

/**
 * Tells the hub which announcements this page showed (`announce.shown`), once per id, so the control room can count
 * the screens an emergency reached. The page's client id lives in `sessionStorage`: a reload counts as the same page,
 * another tab as another. A report that fails (not connected yet, the hub restarting) is tried again.
 * @example const reporter = new ShownReporter(live, 'expo', 'audience'); reporter.report(['a1']); reporter.stop();
 */
export class ShownReporter {
  readonly #sent = new Set<string>();
  readonly #pending = new Set<string>();
  readonly #client = clientId();
  readonly #timer: ReturnType<typeof setInterval>;
  #sending = false;

  constructor(
    private readonly live: LiveSocket,
    private readonly event: string,
    private readonly screen: PageScreen,
  ) {
    this.#timer = setInterval(() => void this.#flush(), RETRY_MS);
  }

  report(ids: readonly string[]): void {
    let added = false;
    for (const id of ids) {
      if (this.#sent.has(id) || this.#pending.has(id)) continue;
      this.#pending.add(id);
      added = true;
    }
    if (added) void this.#flush();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #flush(): Promise<void> {
    if (this.#sending || this.#pending.size === 0 || this.live.state.kind !== 'live') return;
    this.#sending = true;
    const ids = [...this.#pending].slice(0, 20);
    let sent = false;
    try {
      await this.live.command('announce.shown', { event: this.event, ids, screen: this.screen, client: this.#client });
      for (const id of ids) {
        this.#pending.delete(id);
        this.#sent.add(id);
      }
      sent = true;
    } catch {
      // Kept pending: the timer tries again once the connection is back.
    } finally {
      this.#sending = false;
    }
    if (sent && this.#pending.size > 0) void this.#flush();
  }
}

function clientId(): string {
  try {
    const known = sessionStorage.getItem(clientKey);
    if (known && /^[A-Za-z0-9_-]{8,64}$/.test(known)) return known;
    const fresh = randomId();
    sessionStorage.setItem(clientKey, fresh);
    return fresh;
  } catch {
    return randomId();
  }
}

/** 128 random bits as hex: `getRandomValues` works on plain http on the venue LAN, where `randomUUID` does not. */
function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
