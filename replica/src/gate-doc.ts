/**
 * The model of the Yjs doc `event/{e}/gate`: what lives in it, who writes what, and the helpers that read and write it.
 *
 * - `meta` (Y.Map): event id, name, timezone, zones, gates, the event's Ed25519 public key. Written by the hub.
 * - `tickets` (Y.Map): code → plain immutable {@link Ticket}. Written by the hub, replaced whole on change (rare).
 * - `scans` (Y.Array): immutable {@link ScanRecord}s added by gates, never edited or removed. The array is a bag:
 *   its order means nothing (new scans go to the front, see {@link appendScan}); order comes from (`at`, `scanId`).
 *
 * "Checked in" is never stored: it is derived from the scans (see `timeline.ts`). Flipping a flag would grow the doc
 * with tombstones and resolve concurrent gates by client id instead of by time.
 */
import * as Y from 'yjs';
import { z } from 'zod';
import { Id } from '@opshub/schema';

/** Root type names inside the doc. */
export const GateDocKeys = { meta: 'meta', tickets: 'tickets', scans: 'scans' } as const;

export const Direction = z.enum(['in', 'out']);
export type Direction = z.infer<typeof Direction>;

export const Verdict = z.enum(['admitted', 'already_in', 'invalid', 'revoked', 'wrong_zone']);
export type Verdict = z.infer<typeof Verdict>;

/** A ticket code as printed in a barcode (or the signed token's `code` claim): printable, no control characters. */
export const TicketCode = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[^\p{Cc}]+$/u, 'no control characters');

/** A scan id: unique per scan, chosen by the gate (a UUID in the edge agent). */
export const ScanId = z
  .string()
  .min(8)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only');

/**
 * One scan, as appended by a gate. Immutable: later facts are new scans.
 * @example { scanId: '0f9c…', code: 'T-1001', gate: 'north', device: 'north-a1b2', dir: 'in', at: 1767261600000, verdict: 'admitted' }
 */
export const ScanRecord = z.strictObject({
  scanId: ScanId,
  code: TicketCode,
  gate: Id,
  device: Id,
  dir: Direction,
  /** Milliseconds since the epoch on the scanning device's clock. */
  at: z.number().int().min(0).max(8.64e15),
  verdict: Verdict,
});
export type ScanRecord = z.infer<typeof ScanRecord>;

/** One roster entry, keyed by its code in the `tickets` map. An empty `zones` list admits to every zone. */
export const Ticket = z.strictObject({
  holder: z.string().max(200),
  email: z.string().max(320),
  type: z.string().max(64),
  zones: z.array(Id).max(100),
  status: z.enum(['valid', 'revoked']),
  order: z.string().max(100).optional(),
});
export type Ticket = z.infer<typeof Ticket>;

/** The event's Ed25519 public key as a JWK (`kty: OKP`, `crv: Ed25519`). */
export const Ed25519PublicJwk = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a 32-byte base64url key'),
  kid: z.string().max(200).optional(),
});
export type Ed25519PublicJwk = z.infer<typeof Ed25519PublicJwk>;

export const ZoneInfo = z.object({ id: Id, name: z.string().max(200), capacity: z.number().int().min(0) });
export const GateInfo = z.object({ id: Id, name: z.string().max(200), zone: Id });
export type ZoneInfo = z.infer<typeof ZoneInfo>;
export type GateInfo = z.infer<typeof GateInfo>;

/** The `meta` map, read as one object. */
export const EventMeta = z.object({
  event: Id,
  name: z.string().max(200),
  timezone: z.string().max(64),
  zones: z.array(ZoneInfo).max(500),
  gates: z.array(GateInfo).max(500),
  publicKey: Ed25519PublicJwk.optional(),
});
export type EventMeta = z.infer<typeof EventMeta>;

/** A scan as it sits in the doc, with the Yjs id of its array element (who inserted it, at which clock). */
export interface ScanEntry {
  scan: ScanRecord;
  client: number;
  clock: number;
}

/**
 * The doc name for an event's gates.
 * @example gateDocName('expo-2026') // 'event/expo-2026/gate'
 */
export function gateDocName(event: string): string {
  return `event/${event}/gate`;
}

/**
 * The event id in a gate doc name, or undefined when the name is not one.
 * @example parseGateDocName('event/expo-2026/gate') // 'expo-2026'
 */
export function parseGateDocName(name: string): string | undefined {
  const match = /^event\/([^/]+)\/gate$/.exec(name);
  return match && Id.safeParse(match[1]).success ? match[1] : undefined;
}

/**
 * The three root types of a gate doc. Defining them up front matters: a root type is typed by its first `get`.
 * @example const { tickets, scans } = gateDocTypes(doc);
 */
export function gateDocTypes(doc: Y.Doc): { meta: Y.Map<unknown>; tickets: Y.Map<Ticket>; scans: Y.Array<ScanRecord> } {
  return {
    meta: doc.getMap<unknown>(GateDocKeys.meta),
    tickets: doc.getMap<Ticket>(GateDocKeys.tickets),
    scans: doc.getArray<ScanRecord>(GateDocKeys.scans),
  };
}

/**
 * Writes the event's meta (hub only). Keys whose value did not change are left alone, so re-publishing is free.
 * @example writeMeta(doc, { event: 'expo', name: 'Expo', timezone: 'Europe/Berlin', zones, gates, publicKey });
 */
export function writeMeta(doc: Y.Doc, meta: EventMeta, origin: unknown = null): void {
  const parsed = EventMeta.parse(meta);
  const { meta: map } = gateDocTypes(doc);
  doc.transact(() => {
    for (const [key, value] of Object.entries(parsed)) {
      if (value !== undefined && !sameJson(map.get(key), value)) map.set(key, value);
    }
  }, origin);
}

/**
 * The event's meta, or undefined while the doc has not received it (or it does not validate).
 * @example const zone = readMeta(doc)?.gates.find((g) => g.id === 'north')?.zone;
 */
export function readMeta(doc: Y.Doc): EventMeta | undefined {
  const parsed = EventMeta.safeParse(gateDocTypes(doc).meta.toJSON());
  return parsed.success ? parsed.data : undefined;
}

/**
 * The roster entry for `code`, or undefined when absent or not a valid ticket (a doc may come from an untrusted peer).
 * @example const ticket = readTicket(doc, 'T-1001');
 */
export function readTicket(doc: Y.Doc, code: string): Ticket | undefined {
  const value = gateDocTypes(doc).tickets.get(code);
  if (value === undefined) return undefined;
  const parsed = Ticket.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Puts tickets into the roster in one transaction (hub only). A ticket equal to the stored one is skipped, so
 * re-importing a roster adds no tombstones. Returns how many entries were written.
 * @example putTickets(doc, { 'T-1': { holder: 'Ada', email: 'ada@example.org', type: 'vip', zones: [], status: 'valid' } });
 */
export function putTickets(
  doc: Y.Doc,
  tickets: Iterable<readonly [string, Ticket]> | Record<string, Ticket>,
  origin: unknown = null,
): number {
  const entries = Symbol.iterator in tickets ? tickets : Object.entries(tickets);
  const { tickets: map } = gateDocTypes(doc);
  let written = 0;
  doc.transact(() => {
    for (const [code, ticket] of entries as Iterable<readonly [string, Ticket]>) {
      TicketCode.parse(code);
      const value = Ticket.parse(ticket);
      if (sameJson(map.get(code), value)) continue;
      map.set(code, value);
      written++;
    }
  }, origin);
  return written;
}

/**
 * Marks a ticket revoked (hub only). A code missing from the roster gets a revoked stub, so that a signed ticket token
 * for it stops verifying into an admission. Returns false when it was already revoked.
 * @example revoke(doc, 'T-1001');
 */
export function revoke(doc: Y.Doc, code: string, origin: unknown = null): boolean {
  const current = readTicket(doc, code);
  if (current?.status === 'revoked') return false;
  const ticket: Ticket = current ? { ...current, status: 'revoked' } : { holder: '', email: '', type: '', zones: [], status: 'revoked' };
  return putTickets(doc, [[code, ticket]], origin) > 0;
}

/**
 * Appends one scan (gates only), after validating it. Returns the record as stored.
 * @example appendScan(doc, { scanId: randomUUID(), code, gate: 'north', device, dir: 'in', at: Date.now(), verdict: 'admitted' }, LOCAL);
 */
export function appendScan(doc: Y.Doc, scan: ScanRecord, origin: unknown = null): ScanRecord {
  const record = ScanRecord.parse(scan);
  // Inserted at the front, not pushed: Y.Array.push walks the whole list to find its end (700 µs per scan at
  // 150,000 scans), insert(0) is O(1). Array order carries no meaning; the timeline orders by (at, scanId).
  doc.transact(() => gateDocTypes(doc).scans.insert(0, [record]), origin);
  return record;
}

/**
 * Every scan in the doc with its Yjs id, in array order (newest first locally; not timeline order). Records that break the schema (a doc can come from an
 * untrusted peer) are passed to `onInvalid` and left out.
 * @example const entries = readScanEntries(doc, (value) => log.warn({ value }, 'bad scan'));
 */
export function readScanEntries(doc: Y.Doc, onInvalid?: (value: unknown) => void): ScanEntry[] {
  const entries: ScanEntry[] = [];
  // Walk the items rather than `toArray()`: the Yjs id of each element is what sync bookkeeping needs.
  for (let item = gateDocTypes(doc).scans._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue;
    const values = item.content.getContent();
    for (let i = 0; i < values.length; i++) {
      const parsed = ScanRecord.safeParse(values[i]);
      if (parsed.success) entries.push({ scan: parsed.data, client: item.id.client, clock: item.id.clock + i });
      else onInvalid?.(values[i]);
    }
  }
  return entries;
}

/**
 * Every valid scan in the doc, in array order (not timeline order: see `AdmissionTimeline`).
 * @example const scans = readScans(doc);
 */
export function readScans(doc: Y.Doc, onInvalid?: (value: unknown) => void): ScanRecord[] {
  return readScanEntries(doc, onInvalid).map((entry) => entry.scan);
}

/** Scans added by one transaction. */
export interface ScanBatch {
  entries: ScanEntry[];
  /** Values that arrived in `scans` but break the schema: report them, never derive state from them. */
  invalid: unknown[];
  /** The transaction origin (a socket, 'disk', 'local', …). */
  origin: unknown;
}

/**
 * Calls `listener` after every transaction that added scans, with just the new ones. Cost is proportional to the new
 * structs, not to the array: Yjs' own `event.changes` walks the whole array, which at 150,000 scans is too slow.
 * Returns the unsubscribe function.
 * @example const stop = observeScans(doc, ({ entries }) => entries.forEach((e) => timeline.add(e.scan)));
 */
export function observeScans(doc: Y.Doc, listener: (batch: ScanBatch) => void): () => void {
  const { scans } = gateDocTypes(doc);
  const handler = (transaction: Y.Transaction): void => {
    if (!transaction.changed.has(scans)) return;
    const batch: ScanBatch = { entries: [], invalid: [], origin: transaction.origin };
    for (const [client, after] of transaction.afterState) {
      const before = transaction.beforeState.get(client) ?? 0;
      if (after <= before) continue;
      const structs = doc.store.clients.get(client);
      if (!structs) continue;
      for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
        const struct = structs[i]!;
        if (struct.id.clock >= after) break;
        if (!(struct instanceof Y.Item) || struct.parent !== scans || struct.deleted || !struct.countable) continue;
        const values = struct.content.getContent();
        // Structs are merged only after this event, but be safe if a struct straddles `before`.
        for (let j = Math.max(0, before - struct.id.clock); j < values.length && struct.id.clock + j < after; j++) {
          const parsed = ScanRecord.safeParse(values[j]);
          if (parsed.success) batch.entries.push({ scan: parsed.data, client, clock: struct.id.clock + j });
          else batch.invalid.push(values[j]);
        }
      }
    }
    if (batch.entries.length > 0 || batch.invalid.length > 0) listener(batch);
  };
  doc.on('afterTransaction', handler);
  return () => doc.off('afterTransaction', handler);
}

function sameJson(a: unknown, b: unknown): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
