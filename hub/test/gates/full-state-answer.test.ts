import { decodeMessage, encodeMessage } from '@opshub/replica';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { FullStateAnswers } from '../../src/replicas/full-state-answer.ts';

const emptyStateVector = Y.encodeStateVector(new Y.Doc());

function rosterDoc(tickets: number): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => {
    const roster = doc.getMap('tickets');
    for (let i = 0; i < tickets; i++) roster.set(`T${i}`, { holder: `Guest ${i}`, zones: ['hall'] });
  });
  return doc;
}

/** A gate with nothing, brought up by the answer's frames, in order. */
function freshGateFrom(frames: Uint8Array[]): Y.Doc {
  const gate = new Y.Doc();
  for (const frame of frames) {
    const message = decodeMessage(frame);
    expect(message.kind).toBe('sync-step2');
    if (message.kind === 'sync-step2') Y.applyUpdate(gate, message.update);
  }
  return gate;
}

const sameState = (a: Y.Doc, b: Y.Doc) => expect(Buffer.from(Y.encodeStateVector(a))).toEqual(Buffer.from(Y.encodeStateVector(b)));

describe('FullStateAnswers', () => {
  it('recognises only an empty state vector as asking for everything', () => {
    expect(FullStateAnswers.asksForEverything(emptyStateVector)).toBe(true);
    expect(FullStateAnswers.asksForEverything(Y.encodeStateVector(rosterDoc(1)))).toBe(false);
  });

  it('answers a fresh gate with the whole doc, and the next one with the same encoding plus what changed since', () => {
    const answers = new FullStateAnswers();
    const doc = rosterDoc(2000);
    const first = answers.answer(doc);
    expect(first).toHaveLength(1);
    const gateA = freshGateFrom(first);
    sameState(gateA, doc);
    expect(gateA.getMap('tickets').toJSON()).toEqual(doc.getMap('tickets').toJSON());

    // Changes after the cache: a new ticket, a replaced one, a deleted one, and scans from another client.
    const roster = doc.getMap('tickets');
    doc.transact(() => {
      roster.set('T-new', { holder: 'Late Guest', zones: [] });
      roster.set('T5', { holder: 'Renamed', zones: ['vip'] });
      roster.delete('T6');
    });
    const gateDoc = new Y.Doc();
    gateDoc.getMap('scansById').set('s1', { code: 'T1' });
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(gateDoc));

    const second = answers.answer(doc);
    expect(second).toHaveLength(2);
    expect(second[0]).toBe(first[0]); // the cached encoding, not a new one
    const gateB = freshGateFrom(second);
    sameState(gateB, doc);
    expect(gateB.getMap('tickets').toJSON()).toEqual(doc.getMap('tickets').toJSON());
    expect(gateB.getMap('scansById').toJSON()).toEqual({ s1: { code: 'T1' } });
  });

  it('encodes the doc again once what changed since the cache outgrows an eighth of it', () => {
    const answers = new FullStateAnswers();
    const doc = rosterDoc(100);
    const first = answers.answer(doc);
    doc.transact(() => {
      for (let i = 0; i < 100; i++) doc.getMap('tickets').set(`N${i}`, { holder: `New ${i}`, zones: [] });
    });
    const second = answers.answer(doc);
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);
    sameState(freshGateFrom(second), doc);
    // and the new encoding is the cache from now on
    expect(answers.answer(doc)[0]).toBe(second[0]);
  });

  it('keeps one cache per doc', () => {
    const answers = new FullStateAnswers();
    const a = rosterDoc(10);
    const b = rosterDoc(20);
    const [frameA] = answers.answer(a);
    const [frameB] = answers.answer(b);
    expect(frameA).not.toEqual(frameB);
    expect(Buffer.from(frameB!)).toEqual(Buffer.from(encodeMessage({ kind: 'sync-step2', update: Y.encodeStateAsUpdate(b) })));
  });
});
