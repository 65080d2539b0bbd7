/**
 * The scan flow at one gate: resolve what was scanned, decide from the replica, append the scan, and answer only
 * once the scan is on disk.
 */
import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import {
  appendScan,
  decide,
  doorRule,
  readMeta,
  resolveTicket,
  type AdmissionTimeline,
  type Decision,
  type DoorRule,
  type Direction,
  type ResolvedTicket,
  type ScanRecord,
  type Verdict,
} from '@opshub/replica';

/** Transaction origin of scans made at this gate. */
export const LOCAL_ORIGIN = 'local';

export interface ScanResult {
  verdict: Verdict;
  /** The ticket as decided on; only `code` for an unknown code. */
  ticket: Partial<Omit<ResolvedTicket, 'code'>> & { code: string };
  /** Milliseconds from request to durable answer. */
  ms: number;
  scanId: string;
  at: number;
  gate: string;
  dir: Direction;
  /** With `already_in`: where and when the current stay began. */
  already?: Decision['already'];
  /** Why a signed token was refused. */
  problem?: string;
  /** With `zone_full`: the overflow zone the control room sends people to. */
  redirect?: string;
  /** With `gate_closed` / `zone_full`: the control room's message; with a `warn` policy past capacity, the warning. */
  message?: string;
  /** true when admitted on a deliberate override of `zone_full` or `gate_closed` */
  override?: true;
}

export interface GateDeskOptions {
  doc: Y.Doc;
  timeline: AdmissionTimeline;
  gate: string;
  device: string;
  /** The MAC for a scan recorded here (undefined until the gate is paired with the hub). */
  sign?: (record: ScanRecord) => string | undefined;
  /** Resolves when everything appended so far is on disk. */
  durable: () => Promise<void>;
  /** Told after each scan here is durable (presence: last scan). */
  onScanned?: (at: number) => void;
  now?: () => number;
}

export class GateDesk {
  /** `at` of the last scan made here. */
  lastScan: number | undefined;

  constructor(private readonly options: GateDeskOptions) {}

  /** The zone this gate opens into, from the event meta (undefined until it has synced). */
  get zone(): string | undefined {
    return readMeta(this.options.doc)?.gates.find((g) => g.id === this.options.gate)?.zone;
  }

  /**
   * Decides and records one scan; resolves once it is durable.
   * @example const { verdict, ticket } = await desk.scan('T-1001', 'in');
   */
  async scan(scanned: string, dir: Direction, override = false): Promise<ScanResult> {
    const started = performance.now();
    const { doc, timeline, gate, device } = this.options;
    const now = this.options.now ?? Date.now;
    const resolution = await resolveTicket(doc, scanned);
    // From here to appendScan nothing awaits: two quick scans of one code cannot both be admitted here.
    const at = now();
    const zone = this.zone;
    const decision = decide(timeline, resolution.ticket, { id: gate, zone }, dir, at);
    // The control room's directives, from the replica (so also offline): only an entry the ticket itself allows is
    // held back; exits are always recorded. An override admits anyway, and says so in the record.
    let door: DoorRule = { verdict: 'admitted' };
    if (dir === 'in' && decision.verdict === 'admitted') {
      const info = zone === undefined ? undefined : readMeta(doc)?.zones.find((z) => z.id === zone);
      door = doorRule(doc, gate, info, info ? timeline.insideZone(info.id) : 0);
    }
    const overridden = door.verdict !== 'admitted' && override;
    const verdict = door.verdict === 'admitted' || overridden ? decision.verdict : door.verdict;
    const record: ScanRecord = { scanId: randomUUID(), code: recordableCode(resolution.code), gate, device, dir, at, verdict, ...(overridden ? { override: true as const } : {}) };
    const mac = this.options.sign?.(record);
    appendScan(doc, mac === undefined ? record : { ...record, mac }, LOCAL_ORIGIN);
    this.lastScan = at;
    await this.options.durable();
    this.options.onScanned?.(at);
    const { source: _source, ...ticket } = resolution.ticket ?? { code: record.code };
    const message = door.verdict === 'admitted' ? door.warning : door.message;
    return {
      verdict,
      ticket: { ...ticket, code: record.code },
      ms: Math.round((performance.now() - started) * 100) / 100,
      scanId: record.scanId,
      at,
      gate,
      dir,
      ...(decision.already && { already: decision.already }),
      ...(resolution.problem !== undefined && { problem: resolution.problem }),
      ...(door.verdict === 'zone_full' && door.redirect !== undefined && { redirect: door.redirect }),
      ...(message !== undefined && { message }),
      ...(overridden && { override: true as const }),
    };
  }
}

/** Scanner noise (control characters, absurd lengths) must not make the scan record invalid. */
function recordableCode(code: string): string {
  return code.replace(/\p{Cc}/gu, '?').slice(0, 512) || '?';
}
