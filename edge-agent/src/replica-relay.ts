/**
 * Fans doc and awareness updates out to every open session except the one they came from.
 *
 * Origins: a {@link SyncSession} (hub or peer), `'local'` (a scan at this gate) or `'disk'` (replayed at start, never
 * relayed: peers get it through sync step 2). Because an update is never sent back where it came from, and Yjs emits
 * nothing for an update it already has, a ring of agents stops relaying after one lap.
 */
import type { Awareness } from 'y-protocols/awareness';
import * as awarenessProtocol from 'y-protocols/awareness';
import type * as Y from 'yjs';
import type { SyncSession } from './sync-session.ts';

export class ReplicaRelay {
  private readonly sessions = new Set<SyncSession>();
  private readonly stop: () => void;

  constructor(doc: Y.Doc, awareness: Awareness, skipOrigins: readonly unknown[]) {
    const onUpdate = (update: Uint8Array, origin: unknown): void => {
      if (skipOrigins.includes(origin)) return;
      for (const session of this.sessions) if (session !== origin) session.sendUpdate(update);
    };
    const onAwareness = (change: { added: number[]; updated: number[]; removed: number[] }, origin: unknown): void => {
      const clients = [...change.added, ...change.updated, ...change.removed];
      if (clients.length === 0 || this.sessions.size === 0) return;
      const update = awarenessProtocol.encodeAwarenessUpdate(awareness, clients);
      for (const session of this.sessions) if (session !== origin) session.sendAwareness(update);
    };
    doc.on('update', onUpdate);
    awareness.on('update', onAwareness);
    this.stop = () => {
      doc.off('update', onUpdate);
      awareness.off('update', onAwareness);
    };
  }

  add(session: SyncSession): void {
    this.sessions.add(session);
  }

  remove(session: SyncSession): void {
    this.sessions.delete(session);
  }

  /** Open sessions of one kind. */
  list(kind?: SyncSession['kind']): SyncSession[] {
    return [...this.sessions].filter((s) => s.open && (kind === undefined || s.kind === kind));
  }

  close(): void {
    this.stop();
    for (const session of this.sessions) session.close(1001, 'agent shutting down');
    this.sessions.clear();
  }
}
