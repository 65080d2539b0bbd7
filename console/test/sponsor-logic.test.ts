import type { Lead } from '@opshub/schema';
import { describe, expect, it } from 'vitest';
import { cellColor, cellsOf } from '../src/routes/sponsor/[event]/[sponsor]/heatmap-cells.ts';
import { LeadBook } from '../src/routes/sponsor/[event]/[sponsor]/lead-book.ts';

const lead = (over: Partial<Lead> = {}): Lead => ({
  id: 'l1',
  exhibitor: 'x1',
  attendee: {},
  shared: [],
  rating: null,
  notes: '',
  tags: [],
  visits: 1,
  capturedBy: 'kim',
  firstAt: 1_000,
  lastAt: 1_000,
  updatedAt: 1_000,
  ...over,
});

describe('LeadBook', () => {
  it('keeps the newest version of a lead whichever source delivered it last', () => {
    const book = new LeadBook();
    expect(book.upsert(lead({ rating: 3, updatedAt: 2_000 }))).toBe(true);
    // a REST page read before the edit arrives late: ignored
    expect(book.upsert(lead({ rating: null, updatedAt: 1_000 }))).toBe(false);
    // the same message twice (live, then a replay): no change
    expect(book.upsert(lead({ rating: 3, updatedAt: 2_000 }))).toBe(false);
    expect(book.upsert(lead({ rating: 5, updatedAt: 3_000, visits: 2, lastAt: 3_000 }))).toBe(true);
    expect(book.latest(10)).toEqual([lead({ rating: 5, updatedAt: 3_000, visits: 2, lastAt: 3_000 })]);
  });

  it('orders by the latest scan or edit and counts leads and ratings per booth', () => {
    const book = new LeadBook();
    book.upsertAll([
      lead({ id: 'a', lastAt: 10, updatedAt: 10, rating: 4 }),
      lead({ id: 'b', lastAt: 30, updatedAt: 30, exhibitor: 'x2', rating: 1 }),
      lead({ id: 'c', lastAt: 20, updatedAt: 40 }),
    ]);
    expect(book.latest(2).map((l) => l.id)).toEqual(['c', 'b']);
    expect(book.stats()).toEqual({ leads: 3, rated: 2, averageRating: 2.5 });
    expect(book.stats('x1')).toEqual({ leads: 2, rated: 1, averageRating: 4 });
    expect(new LeadBook().stats()).toEqual({ leads: 0, rated: 0, averageRating: null });
  });
});

describe('heatmap cells', () => {
  it('turns the matrix into matrix-chart points with the largest value', () => {
    const { cells, max } = cellsOf({ rows: [{ id: 'b1', label: 'Booth 1' }, { id: 'b2', label: 'Booth 2' }], columns: [0, 60_000], values: [[1, 7], [0, 3]] });
    expect(max).toBe(7);
    expect(cells).toEqual([
      { x: 0, y: 'Booth 1', v: 1, t: 0 },
      { x: 1, y: 'Booth 1', v: 7, t: 60_000 },
      { x: 0, y: 'Booth 2', v: 0, t: 0 },
      { x: 1, y: 'Booth 2', v: 3, t: 60_000 },
    ]);
  });

  it('shades by value, keeping zero nearly empty', () => {
    expect(cellColor(10, 10, '#ffd23f')).toBe('rgba(255, 210, 63, 1)');
    expect(cellColor(5, 10, '#ffd23f')).toBe('rgba(255, 210, 63, 0.55)');
    expect(cellColor(0, 10, '#ffd23f')).toBe('rgba(255, 210, 63, 0.04)');
    expect(cellColor(0, 0, '#ffd23f')).toBe('rgba(255, 210, 63, 0.04)');
  });
});
