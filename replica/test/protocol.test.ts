import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import * as awarenessProtocol from 'y-protocols/awareness';
import { decodeMessage, encodeMessage, MalformedMessageError, openingFrames, respond, type SyncMessage } from '../src/protocol.ts';

function docWith(text: string): Y.Doc {
  const doc = new Y.Doc();
  doc.getArray<string>('a').push([text]);
  return doc;
}

describe('protocol codec', () => {
  it('round-trips every message kind', () => {
    const doc = docWith('x');
    const awareness = new awarenessProtocol.Awareness(doc);
    awareness.setLocalState({ gate: 'north' });
    const messages: SyncMessage[] = [
      { kind: 'sync-step1', stateVector: Y.encodeStateVector(doc) },
      { kind: 'sync-step2', update: Y.encodeStateAsUpdate(doc) },
      { kind: 'sync-update', update: Y.encodeStateAsUpdate(doc) },
      { kind: 'awareness', update: awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]) },
      { kind: 'auth-denied', reason: 'nope' },
      { kind: 'query-awareness' },
    ];
    for (const message of messages) expect(decodeMessage(encodeMessage(message))).toEqual(message);
    awareness.destroy();
  });

  it('produces the same bytes as y-protocols (what an unmodified WebsocketProvider sends)', () => {
    const doc = docWith('y');
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 0);
    syncProtocol.writeSyncStep1(encoder, doc);
    expect(encodeMessage({ kind: 'sync-step1', stateVector: Y.encodeStateVector(doc) })).toEqual(encoding.toUint8Array(encoder));

    const update = Y.encodeStateAsUpdate(doc);
    const updateEncoder = encoding.createEncoder();
    encoding.writeVarUint(updateEncoder, 0);
    syncProtocol.writeUpdate(updateEncoder, update);
    expect(decodeMessage(encoding.toUint8Array(updateEncoder))).toEqual({ kind: 'sync-update', update });
  });

  it.each([
    ['an empty frame', new Uint8Array([])],
    ['an unknown message type', new Uint8Array([9])],
    ['an unknown sync step', new Uint8Array([0, 7, 0])],
    ['a truncated payload', new Uint8Array([0, 2, 10, 1, 2])],
    ['trailing bytes', new Uint8Array([3, 0])],
    ['a payload that is not a Yjs update', new Uint8Array([0, 2, 3, 250, 250, 250])],
    ['a bad state vector', new Uint8Array([0, 0, 2, 5, 200])],
    ['awareness with broken JSON', encodeMessage({ kind: 'awareness', update: new Uint8Array([1, 1, 1, 3, 123, 120, 125]) })],
    ['an unknown auth message', new Uint8Array([2, 5])],
  ])('rejects %s with MalformedMessageError', (_name, frame) => {
    expect(() => decodeMessage(frame)).toThrow(MalformedMessageError);
  });

  it('a frame torn in the middle of an update never reaches the doc', () => {
    const source = docWith('first');
    source.getMap('m').set('k', 'v');
    const frame = encodeMessage({ kind: 'sync-update', update: Y.encodeStateAsUpdate(source) });
    const target = docWith('kept');
    const before = Y.encodeStateAsUpdate(target);
    for (let cut = 1; cut < frame.length; cut++) {
      expect(() => decodeMessage(frame.subarray(0, cut))).toThrow(MalformedMessageError);
    }
    expect(Y.encodeStateAsUpdate(target)).toEqual(before);
  });
});

describe('respond', () => {
  it('syncs two docs in both directions with the opening frames and replies', () => {
    const a = docWith('from a');
    const b = docWith('from b');
    const deliver = (frames: Uint8Array[], to: Y.Doc, back: Y.Doc): void => {
      for (const frame of frames) {
        const replies = respond(decodeMessage(frame), { doc: to }, 'peer');
        deliver(replies, back, to);
      }
    };
    deliver(openingFrames({ doc: a }), b, a);
    deliver(openingFrames({ doc: b }), a, b);
    expect(a.getArray('a').toArray().sort()).toEqual(['from a', 'from b']);
    expect(b.getArray('a').toArray().sort()).toEqual(['from a', 'from b']);
  });

  it('applies updates with the given origin and answers awareness queries', () => {
    const doc = new Y.Doc();
    const origins: unknown[] = [];
    doc.on('update', (_u: Uint8Array, origin: unknown) => origins.push(origin));
    const source = docWith('z');
    respond(decodeMessage(encodeMessage({ kind: 'sync-update', update: Y.encodeStateAsUpdate(source) })), { doc }, 'socket-1');
    expect(origins).toEqual(['socket-1']);

    const awareness = new awarenessProtocol.Awareness(doc);
    awareness.setLocalState({ gate: 'g1' });
    const [reply] = respond({ kind: 'query-awareness' }, { doc, awareness }, 'socket-1');
    const decoded = decodeMessage(reply!);
    expect(decoded.kind).toBe('awareness');
    awareness.destroy();
  });
});
