import type { BusListener, BusMessage } from './bus.ts';
import type { BusLog } from './bus-log.ts';

// Listener lists are immutable arrays replaced on every change: the hot path iterates the current array without
// copying it, and a listener that (un)subscribes during delivery cannot disturb the loop that called it.

/**
 * `list` plus `listener`, unchanged when it is already there (subscribing twice is subscribing once).
 * @example topic.listeners = withListener(topic.listeners, onMessage);
 */
export function withListener<L>(list: readonly L[], listener: L): readonly L[] {
  return list.includes(listener) ? list : [...list, listener];
}

/**
 * `list` without `listener`.
 * @example topic.listeners = withoutListener(topic.listeners, onMessage);
 */
export function withoutListener<L>(list: readonly L[], listener: L): readonly L[] {
  const index = list.indexOf(listener);
  return index < 0 ? list : [...list.slice(0, index), ...list.slice(index + 1)];
}

/**
 * Hands `message` to every listener, in order. A listener that throws is logged and skipped: one faulty consumer
 * must not starve the others nor fail the publish that triggered it. Returns how many listeners were called.
 * @example stats.delivered += deliver(topic.listeners, message, log);
 */
export function deliver(listeners: readonly BusListener[], message: BusMessage, log: BusLog): number {
  for (let i = 0; i < listeners.length; i++) {
    try {
      listeners[i]!(message);
    } catch (err) {
      log.error({ err, topic: message.topic, seq: message.seq }, 'bus listener threw; it still receives later messages');
    }
  }
  return listeners.length;
}
