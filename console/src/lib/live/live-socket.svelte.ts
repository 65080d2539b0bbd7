import { getContext, setContext } from 'svelte';
import type { CommandArgs, CommandName, CommandResult } from '@opshub/schema';
import { isExpired, type Session } from '../session.ts';
import { LiveConnection, type ConnectionState, type Subscription, type TopicSink } from './live-connection.ts';
import type { StartFrom } from './topic-cursor.ts';

/**
 * The console's one live connection to the hub, as reactive state: `state` drives the "live / reconnecting" badge,
 * `subscribe` gives models their topics. Created once per signed-in tab by the root layout and shared via context.
 *
 * @example
 * const live = useLive();
 * const sub = live.subscribe(`event/${id}/announcements`, feed, { last: 50 });
 * onDestroy(() => sub.close());
 */
export class LiveSocket {
  state: ConnectionState = $state({ kind: 'connecting', attempt: 0 });
  /** True while the console cannot trust what it shows to be current. */
  readonly degraded = $derived(this.state.kind !== 'live');
  readonly #connection: LiveConnection;
  readonly #onOnline = () => this.#connection.retryNow();

  constructor(session: Session, origin: string = location.origin) {
    const wsOrigin = origin.replace(/^http/, 'ws');
    this.#connection = new LiveConnection({
      url: () => `${wsOrigin}/ws?token=${encodeURIComponent(session.token)}`,
      onState: (state) => (this.state = state),
      stopReason: () => (isExpired(session) ? 'your sign-in link has expired: open a new one' : undefined),
      log: console,
    });
    this.#connection.start();
    addEventListener('online', this.#onOnline);
  }

  subscribe(topic: string, sink: TopicSink, from?: StartFrom): Subscription {
    return this.#connection.subscribe(topic, sink, from);
  }

  /** Sends a command the schema knows, typed by its args and result. */
  command<N extends CommandName>(name: N, args: CommandArgs<N>): Promise<CommandResult<N>>;
  /** Sends a command by name (one the schema does not list yet). */
  command(name: string, args: Record<string, unknown>): Promise<unknown>;
  command(name: string, args: Record<string, unknown>): Promise<unknown> {
    return this.#connection.command(name, args);
  }

  retryNow(): void {
    this.#connection.retryNow();
  }

  close(): void {
    removeEventListener('online', this.#onOnline);
    this.#connection.close();
  }
}

const key = Symbol('opshub.live');

/** Makes `live` the connection of every component below the caller. */
export function provideLive(live: LiveSocket): void {
  setContext(key, live);
}

/** The connection the root layout opened. Call during component initialisation. */
export function useLive(): LiveSocket {
  const live = getContext<LiveSocket | undefined>(key);
  if (!live) throw new Error('useLive() outside a signed-in layout: no live connection to share');
  return live;
}
