import { topicName, type PushDeliveryMessage } from '@opshub/schema';
import type { Bus } from '../../bus/bus.ts';
import type { Logger } from '../../log.ts';
import { advisoryXactLock, lockSpace } from '../../store/repos/locks.ts';
import { getPushDelivery } from '../../store/repos/push-repo.ts';
import type { Store } from '../../store/store.ts';
import { Coalescer } from '../polls/coalescer.ts';

/**
 * The control room's live delivery figures: each push whose counts changed is published on `event/{e}/push` at most
 * every `intervalMs` per hub, read from the Store (the counts of every hub together) under a lock the hubs share, so
 * a later message never shows fewer than an earlier one.
 * @example const figures = new DeliveryFigures({ store, bus, log }); figures.touch(jobId); await figures.close();
 */
export class DeliveryFigures {
  readonly #coalescer: Coalescer;

  constructor(deps: { store: Store; bus: Bus; log: Logger; intervalMs?: number }) {
    this.#coalescer = new Coalescer({
      intervalMs: deps.intervalMs ?? 250,
      onError: (err, job) => deps.log.warn({ err, job }, 'push delivery figures not published; retrying'),
      flush: async (job) => {
        await deps.store.db.transaction().execute(async (trx) => {
          await advisoryXactLock(trx, lockSpace.pushFigures, job, 'exclusive');
          const found = await getPushDelivery(trx, job);
          if (!found) return;
          const message: PushDeliveryMessage = { type: 'delivery', delivery: found.delivery };
          await deps.bus.publish(topicName({ kind: 'push', event: found.event }), message);
        });
        return undefined;
      },
    });
  }

  touch(job: string): void {
    this.#coalescer.touch(job);
  }

  /** Publishes what is still owed (shutdown: before the bus closes). */
  close(): Promise<void> {
    return this.#coalescer.close();
  }
}
