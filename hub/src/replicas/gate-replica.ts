import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import { AdmissionTimeline, deriveScanKey, gateDocTypes, readMeta, readScans, type EventMeta, type TimelineChange } from '@opshub/replica';
import type { ZoneOccupancy } from '@opshub/schema';
import { zoneOccupancy } from '../streams/capacity/zone-occupancy.ts';

/**
 * One event's gate doc as a hub holds it: the Yjs doc and awareness, the admission timeline derived from its scans,
 * and occupancy per zone. Pure state: loading, persistence and transport live in the replica host.
 */
export class GateReplica {
  readonly doc = new Y.Doc();
  readonly awareness = new Awareness(this.doc);
  /** gates' zones come from the doc's meta, so a scan into another room is a move, not a duplicate */
  readonly timeline = new AdmissionTimeline((gate) => this.zoneOfGate(gate) || undefined);
  /** the id of the last stored update this replica has applied (anti-entropy resumes after it) */
  lastUpdateId = '0';
  /** sockets holding the replica open */
  refs = 0;
  /** set while a hub write is being stored: the transport holds incoming frames until it resolves */
  barrier: Promise<void> | undefined;
  readonly #zoneOfInside = new Map<string, string>();
  readonly #insideByZone = new Map<string, number>();
  #meta: EventMeta | undefined;
  #gateZones: Map<string, string> | undefined;
  /** the event's mesh secret (set when the meta is projected), and the scan keys derived from it */
  #meshSecret: Uint8Array | undefined;
  readonly #scanKeys = new Map<string, string>();

  constructor(
    readonly event: string,
    readonly docName: string,
  ) {
    // The hub is not a participant: it must not publish a presence of its own.
    this.awareness.setLocalState(null);
    // Meta is read once and cached until it changes (zone lookups run per scan).
    gateDocTypes(this.doc).meta.observe(() => {
      this.#meta = undefined;
      this.#gateZones = undefined;
    });
  }

  get meta(): EventMeta | undefined {
    this.#meta ??= readMeta(this.doc);
    return this.#meta;
  }

  /** The zone a gate opens into ('' when the gate is unknown). */
  zoneOfGate(gate: string): string {
    this.#gateZones ??= new Map((this.meta?.gates ?? []).map((g) => [g.id, g.zone]));
    return this.#gateZones.get(gate) ?? '';
  }

  /** Set by the host from the Store's event key, before anyone syncs (see `mesh-secret.ts`). */
  set meshSecret(secret: Uint8Array) {
    this.#meshSecret = secret;
    this.#scanKeys.clear();
  }

  /** The scan key of a gate of this event (what its scans' MACs are made with); undefined before the meta is loaded. */
  scanKeyOf(gate: string): string | undefined {
    if (!this.#meshSecret) return undefined;
    let key = this.#scanKeys.get(gate);
    if (key === undefined && this.#scanKeys.size < 1000) this.#scanKeys.set(gate, (key = deriveScanKey(this.#meshSecret, this.event, gate)));
    return key ?? deriveScanKey(this.#meshSecret, this.event, gate);
  }

  /** Feeds every scan of the doc to the timeline (once, after loading). */
  indexAll(): TimelineChange {
    return this.#track(this.timeline.addMany(readScans(this.doc)));
  }

  /** Feeds newly arrived scans to the timeline and occupancy. */
  index(scans: Parameters<AdmissionTimeline['addMany']>[0]): TimelineChange {
    return this.#track(this.timeline.addMany(scans));
  }

  /** Occupancy of every zone of the event, with the 80/90/100 % level. */
  occupancy(): ZoneOccupancy[] {
    return (this.meta?.zones ?? []).map((zone) => zoneOccupancy(zone, this.#insideByZone.get(zone.id) ?? 0));
  }

  /** Moves each touched ticket to the zone its current stay was admitted into (or out of every zone). */
  #track(change: TimelineChange): TimelineChange {
    for (const code of change.codes) {
      const state = this.timeline.state(code);
      const zone = state?.inside && state.entry ? this.zoneOfGate(state.entry.gate) : undefined;
      const before = this.#zoneOfInside.get(code);
      if (before === zone) continue;
      if (before !== undefined) this.#insideByZone.set(before, (this.#insideByZone.get(before) ?? 1) - 1);
      if (zone !== undefined) {
        this.#insideByZone.set(zone, (this.#insideByZone.get(zone) ?? 0) + 1);
        this.#zoneOfInside.set(code, zone);
      } else {
        this.#zoneOfInside.delete(code);
      }
    }
    return change;
  }

  destroy(): void {
    this.awareness.destroy();
    this.doc.destroy();
  }
}
