import { z } from 'zod';
import type { Logger } from '../../log.ts';
import type { GateReplica } from '../../replicas/gate-replica.ts';
import { isSocketOrigin } from '../../replicas/origins.ts';
import type { ReplicaListener } from '../../replicas/replica-host.ts';
import type { AnnouncementView } from '../../store/repos/announcement-views-repo.ts';
import type { ScreenViews } from './screen-views.ts';

/** The part of an edge agent's awareness state that says which announcements its gate screen showed. */
const GateScreenShown = z.object({
  gate: z.string().min(1).max(64),
  device: z.string().min(1).max(64),
  shown: z.array(z.string().min(1).max(64)).max(50),
});

/** How many (event, announcement, device) this hub remembers having recorded, before it forgets them all. */
const REMEMBERED = 50_000;

/**
 * Gate screens' acknowledgements (issue 12 item 6): the gate screen tells its agent which announcements it showed,
 * the agent lists them in its awareness state (`shown`), and this listener records each (announcement, device) as a
 * view. Awareness carries it through a gate that was offline: the state goes out again when it reconnects. As with
 * presence, only a gate's own socket speaks for it (a state relayed through the mesh, or naming another gate, is
 * not counted), so no gate can inflate another's count.
 */
export function gateScreenViews(deps: { views: ScreenViews; log: Logger }): ReplicaListener {
  // Awareness repeats the whole state on every change (pending counts, last scan): record each view once per hub.
  const recorded = new Set<string>();
  return {
    awarenessUpdate(replica: GateReplica, _update, changed, origin) {
      if (!isSocketOrigin(origin) || origin.role !== 'gate') return;
      const states = replica.awareness.getStates();
      const views: AnnouncementView[] = [];
      for (const id of [...changed.added, ...changed.updated]) {
        const parsed = GateScreenShown.safeParse(states.get(id));
        if (!parsed.success || parsed.data.gate !== origin.gate) continue;
        for (const announcement of parsed.data.shown) {
          const key = `${replica.event}/${announcement}/${parsed.data.device}`;
          if (recorded.has(key)) continue;
          if (recorded.size >= REMEMBERED) recorded.clear();
          recorded.add(key);
          views.push({ event: replica.event, id: announcement, screen: 'gate' as const, client: parsed.data.device });
        }
      }
      if (views.length === 0) return;
      deps.views.record(views).catch((err: unknown) => {
        // Not stored: forget them, so the next awareness change from the gate tries again.
        for (const v of views) recorded.delete(`${v.event}/${v.id}/${v.client}`);
        deps.log.warn({ err, event: replica.event }, 'gate screen views not recorded');
      });
    },
  };
}
