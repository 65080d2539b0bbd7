import { describe, expect, it } from 'vitest';
import { AdmissionTimeline } from '../src/timeline.ts';
import { decide, type ResolvedTicket } from '../src/verdict.ts';

const now = 1_767_261_600_000;
const t = (over: Partial<ResolvedTicket> = {}): ResolvedTicket => ({ code: 'T-1', holder: 'Ada', email: '', type: 'vip', zones: [], status: 'valid', source: 'roster', ...over });
const gate = { id: 'north', zone: 'hall' };

describe('decide', () => {
  const empty = new AdmissionTimeline();
  const inside = new AdmissionTimeline();
  inside.add({ scanId: 'entry-0001', code: 'T-1', gate: 'south', device: 'dev-s', dir: 'in', at: now - 90_000, verdict: 'admitted' });
  const left = new AdmissionTimeline();
  left.addMany([
    { scanId: 'entry-0001', code: 'T-1', gate: 'south', device: 'dev-s', dir: 'in', at: now - 90_000, verdict: 'admitted' },
    { scanId: 'exit-00001', code: 'T-1', gate: 'south', device: 'dev-s', dir: 'out', at: now - 60_000, verdict: 'admitted' },
  ]);

  it.each([
    ['unknown code', empty, undefined, 'in', 'invalid'],
    ['unknown code leaving', empty, undefined, 'out', 'invalid'],
    ['revoked', empty, t({ status: 'revoked' }), 'in', 'revoked'],
    ['revoked and inside', inside, t({ status: 'revoked' }), 'in', 'revoked'],
    ['other zone only', empty, t({ zones: ['backstage'] }), 'in', 'wrong_zone'],
    ['listed zone', empty, t({ zones: ['backstage', 'hall'] }), 'in', 'admitted'],
    ['no zones = all zones', empty, t(), 'in', 'admitted'],
    ['already inside', inside, t(), 'in', 'already_in'],
    ['re-entry after an exit', left, t(), 'in', 'admitted'],
    ['leaving', inside, t(), 'out', 'admitted'],
    ['leaving with a revoked ticket', inside, t({ status: 'revoked' }), 'out', 'admitted'],
    ['leaving through a gate of another zone', inside, t({ zones: ['backstage'] }), 'out', 'admitted'],
  ] as const)('%s → %s', (_name, index, ticket, dir, verdict) => {
    expect(decide(index, ticket, gate, dir, now).verdict).toBe(verdict);
  });

  it('says where and when for already_in', () => {
    expect(decide(inside, t(), gate, 'in', now).already).toEqual({ gate: 'south', device: 'dev-s', at: now - 90_000, scanId: 'entry-0001', agoMs: 90_000 });
  });

  it('checks no zone while the gate zone is unknown', () => {
    expect(decide(empty, t({ zones: ['backstage'] }), { id: 'north' }, 'in', now).verdict).toBe('admitted');
  });
});

describe('moves between zones', () => {
  const zones: Record<string, string> = { south: 'hall', north: 'hall', vipdoor: 'vip' };
  const zoned = () => new AdmissionTimeline((g) => zones[g]);
  const entry = { scanId: 'entry-0001', code: 'T-1', gate: 'south', device: 'dev-s', dir: 'in', at: now - 90_000, verdict: 'admitted' } as const;

  it('admits a scan into another zone while inside, and the timeline moves the stay there without a duplicate', () => {
    const timeline = zoned();
    timeline.add(entry);
    expect(decide(timeline, t(), { id: 'vipdoor', zone: 'vip' }, 'in', now).verdict).toBe('admitted');
    expect(decide(timeline, t(), { id: 'north', zone: 'hall' }, 'in', now).verdict).toBe('already_in');
    const change = timeline.add({ scanId: 'move-00001', code: 'T-1', gate: 'vipdoor', device: 'dev-v', dir: 'in', at: now, verdict: 'admitted' });
    expect(change.duplicatesAdded).toEqual([]);
    expect(timeline.state('T-1')).toMatchObject({ inside: true, stays: 1, entry: { gate: 'vipdoor', zone: 'vip' } });
    expect(timeline.counts()).toMatchObject({ inside: 1, duplicates: 0 });
  });

  it('still flags a second entry into the same zone from another device', () => {
    const timeline = zoned();
    timeline.add(entry);
    const change = timeline.add({ scanId: 'again-0001', code: 'T-1', gate: 'north', device: 'dev-n', dir: 'in', at: now, verdict: 'admitted' });
    expect(change.duplicatesAdded).toHaveLength(1);
    expect(change.duplicatesAdded[0]).toMatchObject({ first: { gate: 'south', zone: 'hall' }, second: { gate: 'north', zone: 'hall' } });
  });
});
