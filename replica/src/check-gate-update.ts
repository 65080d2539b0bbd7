/**
 * The hub's guard for updates that arrive from a `gate` socket: gates may append scans and nothing else.
 *
 * How: the update is decoded with `Y.decodeUpdate` (nothing is applied) and every struct the doc does not already
 * have is placed. A struct names its parent in one of three ways: a root type name, the id of a nested type, or
 * nothing, in which case Yjs takes the parent of its left (`origin`) or right (`rightOrigin`) neighbour. Neighbours
 * are looked up in the doc's struct store, or among the update's own structs (a gate that pushed three scans while
 * offline sends a chain of them). A new struct passes only when it is a new key of the root `scansById` map (no
 * neighbour: a neighbour there would mean replacing a scan), holds one plain JSON value (`ContentAny`) and key and
 * value make a valid {@link ScanRecord} whose id the doc does not hold yet. The delete set may only repeat deletions
 * the doc already has (a gate's sync step 2 always carries its whole delete set, including the roster entries the
 * hub replaced); a gate never deletes anything itself.
 *
 * Why not apply to a scratch copy and diff: copying a 100,000-ticket doc per scan costs tens of milliseconds, while
 * this check costs time proportional to the update.
 */
import * as Y from 'yjs';
import { GateDocKeys, gateDocTypes, parseStoredScan, type ScanRecord } from './gate-doc.ts';

export type GateUpdateRejection =
  /** Not a decodable Yjs update. */
  | 'malformed'
  /** Writes or deletes outside `scansById`, replaces a scan, or non-JSON content. Close the socket (4403). */
  | 'forbidden'
  /** Lands in `scansById` but is not a valid scan record, or repeats a scan id. Report it; close the socket. */
  | 'invalid_scan'
  /**
   * Refers to structs this doc does not have yet (a neighbour, or a deletion of something unknown), so where it
   * lands cannot be decided. Applying it would let Yjs keep it pending and integrate it later unchecked. Drop the
   * frame and send the gate a fresh sync step 1: its step 2 brings the missing structs along.
   */
  | 'unresolved';

export type GateUpdateCheck =
  | { ok: true; /** The scans this update adds to the doc (already known ones are left out). */ scans: ScanRecord[] }
  | { ok: false; reason: GateUpdateRejection; message: string };

export interface CheckGateUpdateOptions {
  /**
   * Who sent the update. `gate` (default, the hub's rule): scans only. `peer` (an edge agent checking another agent,
   * which legitimately relays the hub's roster and meta): writes outside `scansById` pass, but what lands there
   * must still be valid records, and scans may not be deleted. Keeps one buggy laptop from spreading bad records
   * through the mesh, and from there into every later sync with the hub.
   */
  from?: 'gate' | 'peer';
  /**
   * A further check of each new scan by the caller, which knows what this pure module does not: the time, who wrote
   * the update, which gates exist. A rejection refuses the whole update, as a schema failure does.
   * @example screen: (scan) => (scan.at > Date.now() + DAY ? { reason: 'invalid_scan', message: 'in the future' } : undefined)
   */
  screen?: (scan: ScanRecord) => ScanRejection | undefined;
}

/** Why a caller's {@link CheckGateUpdateOptions.screen} refused a scan. */
export interface ScanRejection {
  reason: Extract<GateUpdateRejection, 'forbidden' | 'invalid_scan'>;
  message: string;
}

type Place = 'scans' | 'elsewhere' | 'unresolved';
type Struct = Y.Item | Y.GC | Y.Skip;

class Rejected extends Error {
  constructor(
    readonly reason: GateUpdateRejection,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Decides whether an update from a gate only appends valid scans. Pure: the doc is read, never written.
 * @example
 * const check = checkGateUpdate(doc, message.update);
 * if (!check.ok) return socket.end(check.reason === 'forbidden' ? 4403 : 1007, check.message);
 * Y.applyUpdate(doc, message.update, connection);
 */
export function checkGateUpdate(doc: Y.Doc, update: Uint8Array, options: CheckGateUpdateOptions = {}): GateUpdateCheck {
  let decoded: ReturnType<typeof Y.decodeUpdate>;
  try {
    decoded = Y.decodeUpdate(update);
  } catch (error) {
    return { ok: false, reason: 'malformed', message: `not a Yjs update: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    const scans = new Placement(doc, decoded.structs).newScans(options);
    checkDeletions(doc, decoded.ds, options.from === 'peer');
    return { ok: true, scans };
  } catch (error) {
    if (error instanceof Rejected) return { ok: false, reason: error.reason, message: error.message };
    throw error;
  }
}

/** Works out where each struct of one update lands. */
class Placement {
  private readonly scansType: Y.Map<unknown>;
  private readonly byClient = new Map<number, Struct[]>();
  private readonly places = new Map<Struct, Place>();

  constructor(
    private readonly doc: Y.Doc,
    private readonly structs: Struct[],
  ) {
    this.scansType = gateDocTypes(doc).scans;
    for (const struct of structs) {
      const list = this.byClient.get(struct.id.client) ?? [];
      list.push(struct);
      this.byClient.set(struct.id.client, list);
    }
  }

  newScans(options: CheckGateUpdateOptions): ScanRecord[] {
    const fromPeer = options.from === 'peer';
    const added: ScanRecord[] = [];
    const seen = new Set<string>();
    for (const struct of this.structs) {
      const known = Y.getState(this.doc.store, struct.id.client);
      if (struct.id.clock + struct.length <= known || struct instanceof Y.Skip) continue;
      // A peer relays roster entries the hub replaced long ago as collected garbage; a gate has none to send.
      if (struct instanceof Y.GC) {
        if (fromPeer) continue;
        throw new Rejected('forbidden', 'gates never delete: the update carries garbage-collected structs');
      }
      const place = this.placeOf(struct);
      if (place === 'unresolved') throw new Rejected('unresolved', `struct ${describeId(struct.id)} refers to structs this doc does not have`);
      if (place !== 'scans') {
        if (fromPeer) continue;
        throw new Rejected('forbidden', `struct ${describeId(struct.id)} writes outside "${GateDocKeys.scans}"`);
      }
      // A scan is a new key: a neighbour (the key's previous value) would mean replacing a scan.
      if (struct.origin !== null || struct.rightOrigin !== null || struct.parentSub === null) {
        throw new Rejected('forbidden', `struct ${describeId(struct.id)} replaces a scan or is not a "${GateDocKeys.scans}" entry`);
      }
      if (!(struct.content instanceof Y.ContentAny) || struct.length !== 1) throw new Rejected('forbidden', `struct ${describeId(struct.id)} is not one plain JSON record`);
      const scanId = struct.parentSub;
      const parsed = parseStoredScan(scanId, struct.content.getContent()[0]);
      if (!parsed.success) throw new Rejected('invalid_scan', `scan ${describeId(struct.id)}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      if (seen.has(scanId) || this.scansType._map.has(scanId)) throw new Rejected('invalid_scan', `scan id ${scanId} is used twice`);
      const screened = options.screen?.(parsed.data);
      if (screened) throw new Rejected(screened.reason, `scan ${scanId}: ${screened.message}`);
      seen.add(scanId);
      added.push(parsed.data);
    }
    return added;
  }

  /**
   * Where an update struct lands, following neighbours until a root type decides. Iterative: a day of offline scans
   * is a chain of 100,000 neighbours, too deep for recursion.
   */
  private placeOf(item: Y.Item): Place {
    // Most structs name their root (every scan does): no walk, nothing allocated.
    if (typeof item.parent === 'string') return item.parent === GateDocKeys.scans ? 'scans' : 'elsewhere';
    const stack: Y.Item[] = [item];
    const visiting = new Set<Y.Item>([item]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const step = this.resolve(top);
      if (step instanceof Y.Item) {
        // A cycle of neighbours cannot be integrated anyway.
        if (visiting.has(step)) this.places.set(step, 'elsewhere');
        else {
          visiting.add(step);
          stack.push(step);
        }
        continue;
      }
      this.places.set(top, step);
      stack.pop();
    }
    return this.places.get(item)!;
  }

  /** The place of `item`, or a neighbour in the update whose place must be known first. */
  private resolve(item: Y.Item): Place | Y.Item {
    const cached = this.places.get(item);
    if (cached) return cached;
    const parent: unknown = item.parent;
    if (typeof parent === 'string') return parent === GateDocKeys.scans ? 'scans' : 'elsewhere';
    if (parent !== null) return 'elsewhere'; // the id of a nested type: scans hold plain records, never types
    const neighbours = [item.origin, item.rightOrigin].filter((id): id is Y.ID => id !== null);
    if (neighbours.length === 0) return 'elsewhere';
    for (const id of neighbours) {
      const place = this.placeOfId(id);
      if (place !== 'scans') return place;
    }
    return 'scans';
  }

  private placeOfId(id: Y.ID): Place | Y.Item {
    if (id.clock < Y.getState(this.doc.store, id.client)) {
      const structs = this.doc.store.clients.get(id.client)!;
      const struct = structs[Y.findIndexSS(structs, id.clock)]!;
      if (!(struct instanceof Y.Item)) return 'elsewhere'; // collected garbage: scans are never deleted
      return struct.parent === this.scansType ? 'scans' : 'elsewhere';
    }
    const struct = findStruct(this.byClient.get(id.client), id.clock);
    if (!struct || struct instanceof Y.Skip) return 'unresolved';
    if (struct instanceof Y.GC) return 'elsewhere';
    return this.places.get(struct) ?? struct;
  }
}

/**
 * From a gate, every deleted range must already be deleted in the doc. From a peer, only live scans are protected;
 * a range beyond what the doc has is let through (it covers structs of the same update: roster entries the peer
 * got from the hub, replaced since).
 */
function checkDeletions(doc: Y.Doc, ds: ReturnType<typeof Y.decodeUpdate>['ds'], fromPeer: boolean): void {
  const scansType = gateDocTypes(doc).scans;
  for (const [client, ranges] of ds.clients) {
    const state = Y.getState(doc.store, client);
    for (const { clock, len } of ranges) {
      if (len === 0) continue;
      if (clock + len > state && !fromPeer) throw new Rejected('unresolved', `deletes ${client}:${clock}+${len}, which this doc does not have`);
      if (clock >= state) continue;
      const structs = doc.store.clients.get(client)!;
      for (let i = Y.findIndexSS(structs, clock); i < structs.length && structs[i]!.id.clock < clock + len; i++) {
        const struct = structs[i]!;
        if (!(struct instanceof Y.Item) || struct.deleted) continue;
        if (!fromPeer) throw new Rejected('forbidden', `gates never delete: ${describeId(struct.id)} is live`);
        if (struct.parent === scansType) throw new Rejected('forbidden', `scans are never deleted: ${describeId(struct.id)}`);
      }
    }
  }
}

function findStruct(list: Struct[] | undefined, clock: number): Struct | undefined {
  if (!list) return undefined;
  let low = 0;
  let high = list.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const struct = list[mid]!;
    if (clock < struct.id.clock) high = mid - 1;
    else if (clock >= struct.id.clock + struct.length) low = mid + 1;
    else return struct;
  }
  return undefined;
}

function describeId(id: Y.ID): string {
  return `${id.client}:${id.clock}`;
}
