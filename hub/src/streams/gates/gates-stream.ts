import { z } from 'zod';
import { topicName, type GateMessage } from '@opshub/schema';
import type { Bus } from '../../bus/bus.ts';
import type { Logger } from '../../log.ts';
import type { GateReplica } from '../../replicas/gate-replica.ts';
import { isSocketOrigin } from '../../replicas/origins.ts';
import type { ReplicaListener } from '../../replicas/replica-host.ts';
import type { GateHealth } from './gate-health.ts';

/** What an edge agent puts in its awareness state; anything else in awareness is ignored here. */
const GatePresence = z.object({
  gate: z.string().min(1).max(64),
  device: z.string().min(1).max(64),
  pending: z.number().int().min(0).optional(),
  lastScan: z.number().nullable().optional(),
});

/**
 * Gate presence: the awareness of each gate connected to this hub becomes a `GateMessage` on `event/{e}/gates`
 * (online with its pending count and last scan; offline when its socket goes). Only the hub holding the gate's socket
 * publishes, so a gate is reported once whichever hub it reached. Throttled per device: at most one message a second
 * unless the gate goes on- or offline.
 */
export function gatesStream(deps: { bus: Bus; log: Logger; health?: GateHealth }, options = { minIntervalMs: 1000 }) {
  const { bus, log } = deps;
  /** awareness client id → the gate it speaks for, so a removal can be reported */
  const known = new Map<string, { gate: string; device: string; pending: number; lastSync: number; lastScan?: number }>();
  const lastSent = new Map<string, { at: number; online: boolean; timer?: NodeJS.Timeout }>();

  const publish = (event: string, message: GateMessage) => {
    const key = `${event}/${message.device}`;
    const previous = lastSent.get(key);
    const now = Date.now();
    const send = () => {
      lastSent.set(key, { at: Date.now(), online: message.online });
      bus.publish(topicName({ kind: 'gates', event }), { ...message, at: Date.now() }).catch((err: unknown) => log.warn({ err, event }, 'gate presence publish failed'));
    };
    if (!previous || previous.online !== message.online || now - previous.at >= options.minIntervalMs) {
      clearTimeout(previous?.timer);
      return send();
    }
    clearTimeout(previous.timer);
    previous.timer = setTimeout(send, options.minIntervalMs - (now - previous.at));
    previous.timer.unref();
  };

  const warned = new Set<string>();
  const refused = (event: string, origin: { sub: string; gate?: string | undefined }, gate: string) => {
    const key = `${event}/${origin.sub}/${gate}`;
    if (warned.has(key) || warned.size > 10_000) return;
    warned.add(key);
    log.warn({ event, sub: origin.sub, tokenGate: origin.gate, gate }, 'ignored a presence for another gate than the token\'s');
  };

  const listener: ReplicaListener = {
    awarenessUpdate(replica: GateReplica, _update, changed, origin) {
      if (!isSocketOrigin(origin)) return;
      const states = replica.awareness.getStates();
      for (const id of [...changed.added, ...changed.updated]) {
        const parsed = GatePresence.safeParse(states.get(id));
        if (!parsed.success) continue;
        // A socket speaks only for its own gate: a state naming another (a peer's, relayed; or a forgery) is not
        // published, so no gate can mark another online, offline or stalled.
        if (origin.role !== 'gate' || origin.gate !== parsed.data.gate) {
          refused(replica.event, origin, parsed.data.gate);
          continue;
        }
        const { gate, device, pending = 0, lastScan } = parsed.data;
        // lastSync travels with the entry, so the offline message keeps it (the gates table shows when it was last seen).
        const entry = { gate, device, pending, lastSync: Date.now(), ...(lastScan ? { lastScan } : {}) };
        known.set(`${replica.event}/${id}`, entry);
        deps.health?.online(replica.event, gate, device);
        deps.health?.pending(replica.event, gate, device, pending);
        publish(replica.event, { ...entry, online: true, at: Date.now() });
      }
      for (const id of changed.removed) {
        const entry = known.get(`${replica.event}/${id}`);
        if (!entry) continue;
        known.delete(`${replica.event}/${id}`);
        deps.health?.offline(replica.event, entry.gate, entry.device, entry.lastSync);
        publish(replica.event, { ...entry, online: false, at: Date.now() });
      }
    },
  };

  return {
    listener,
    close() {
      for (const sent of lastSent.values()) clearTimeout(sent.timer);
      deps.health?.close();
    },
  };
}
