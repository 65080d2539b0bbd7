/**
 * How many scans in this replica the hub may not have yet ("pending sync").
 *
 * The hub tells us its state vector when a connection opens (its sync step 1); after that, everything we hand to the
 * hub socket is known to it, and everything it sends us it has. A scan is pending while its Yjs id (client, clock) is
 * beyond what the hub is known to have for that client. What the hub has is persisted (advisory, best effort), so a
 * restarted agent does not report every old scan as pending.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';

const StateFile = z.record(z.string().regex(/^\d+$/), z.number().int().min(0));

export class PendingTracker {
  private readonly hubHas = new Map<number, number>();
  /** Sorted clocks, per client, of scans the hub may lack. */
  private readonly waiting = new Map<number, number[]>();
  private total = 0;
  private saveTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly file: string | undefined,
    private readonly onChange: () => void,
  ) {}

  /**
   * Loads what the hub had at the last sync (if `file` exists).
   * @example const pending = await PendingTracker.load('data/hub-state.json', () => publishPresence());
   */
  static async load(file: string | undefined, onChange: () => void = () => {}): Promise<PendingTracker> {
    const tracker = new PendingTracker(file, onChange);
    if (!file) return tracker;
    try {
      const parsed = StateFile.safeParse(JSON.parse(await readFile(file, 'utf8')));
      if (parsed.success) for (const [client, clock] of Object.entries(parsed.data)) tracker.hubHas.set(Number(client), clock);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
    }
    return tracker;
  }

  get pending(): number {
    return this.total;
  }

  /** Scans now in the replica; `hubHasThem` when they arrived from the hub. */
  track(ids: Iterable<{ client: number; clock: number }>, hubHasThem = false): void {
    if (hubHasThem) return;
    const touched = new Set<number[]>();
    for (const { client, clock } of ids) {
      if (clock < (this.hubHas.get(client) ?? 0)) continue;
      let list = this.waiting.get(client);
      if (!list) {
        list = [];
        this.waiting.set(client, list);
      }
      // Sorted once per batch below: a replica's scans come in no particular order, so inserting in place could be quadratic.
      if (list.length > 0 && list[list.length - 1]! >= clock) touched.add(list);
      list.push(clock);
    }
    let total = 0;
    for (const [client, list] of this.waiting) {
      if (touched.has(list)) {
        list.sort((a, b) => a - b);
        const unique = list.filter((clock, i) => i === 0 || clock !== list[i - 1]);
        this.waiting.set(client, unique);
      }
      total += this.waiting.get(client)!.length;
    }
    if (total === this.total) return;
    this.total = total;
    this.onChange();
  }

  /** The hub now has at least `state` (a state vector: client → next clock). */
  hubReached(state: Map<number, number>): void {
    let changed = false;
    for (const [client, clock] of state) {
      if (clock <= (this.hubHas.get(client) ?? 0)) continue;
      this.hubHas.set(client, clock);
      changed = true;
      const list = this.waiting.get(client);
      if (!list) continue;
      let drop = 0;
      while (drop < list.length && list[drop]! < clock) drop++;
      list.splice(0, drop);
      this.total -= drop;
      if (list.length === 0) this.waiting.delete(client);
    }
    if (!changed) return;
    this.onChange();
    this.scheduleSave();
  }

  async close(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.save();
  }

  private scheduleSave(): void {
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = undefined;
      void this.save().catch(() => {});
    }, 1000);
  }

  private async save(): Promise<void> {
    if (!this.file) return;
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.hubHas)));
    await rename(tmp, this.file);
  }
}
