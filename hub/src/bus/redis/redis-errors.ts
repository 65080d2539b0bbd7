import { BusUnavailableError } from '../bus.ts';

// Server replies that mean "not now" rather than "wrong": loading a dump, a failover in progress (or a slot that moved
// and is still moving), a busy script, or out of memory under `noeviction`. The caller can do nothing but retry
// later, exactly as when the link is down.
const transientReply = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|MOVED|ASK|BUSY|NOREPLICAS|OOM)\b/;

/**
 * Maps what ioredis throws to what the Bus promises: an outage (no connection, connection lost mid-command,
 * command timeout, a server that cannot take writes) becomes {@link BusUnavailableError}; any other server reply
 * error is a bug and is rethrown as is.
 *
 * A command lost with its connection may or may not have run; the publish script is atomic, so it either fully
 * happened or not at all.
 * @example try { await redis.get(key); } catch (err) { throw toBusError(err); }
 */
export function toBusError(err: unknown): Error {
  if (err instanceof BusUnavailableError) return err;
  if (err instanceof Error && err.name === 'ReplyError' && !transientReply.test(err.message)) return err;
  return new BusUnavailableError('redis', err);
}
