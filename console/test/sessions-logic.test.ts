import type { Session } from '@opshub/schema';
import { describe, expect, it } from 'vitest';
import { roomShow } from '../src/routes/projector/[event]/room/[zone]/room-session.ts';
import { blankDraft, bodyOf, draftOf, idFromTitle, instantOf, wallTime } from '../src/routes/sessions/[event]/session-draft.ts';

describe('the session form', () => {
  it('reads and writes the venue\'s wall clock whatever the laptop\'s zone, across daylight saving', () => {
    expect(wallTime(Date.parse('2026-06-01T07:30:00Z'), 'Europe/Berlin')).toBe('2026-06-01T09:30');
    expect(instantOf('2026-06-01T09:30', 'Europe/Berlin')).toBe(Date.parse('2026-06-01T07:30:00Z'));
    expect(instantOf('2026-01-15T09:30', 'Europe/Berlin')).toBe(Date.parse('2026-01-15T08:30:00Z'));
    expect(instantOf('2026-06-01T09:30', 'America/New_York')).toBe(Date.parse('2026-06-01T13:30:00Z'));
    expect(instantOf('2026-06-01T09:30', 'UTC')).toBe(Date.parse('2026-06-01T09:30:00Z'));
    // 02:30 does not exist in Berlin on 29 March 2026: an hour later. 02:30 on 25 October exists twice: the later.
    expect(instantOf('2026-03-29T02:30', 'Europe/Berlin')).toBe(Date.parse('2026-03-29T01:30:00Z'));
    expect(instantOf('2026-10-25T02:30', 'Europe/Berlin')).toBe(Date.parse('2026-10-25T01:30:00Z'));
    expect(instantOf('tomorrow', 'UTC')).toBeNaN();
    for (const ms of [Date.parse('2026-03-29T00:59:00Z'), Date.parse('2026-10-25T01:15:00Z'), Date.parse('2026-12-31T23:00:00Z')]) {
      expect(instantOf(wallTime(ms, 'Europe/Berlin'), 'Europe/Berlin')).toBe(ms);
    }
  });

  it('turns a draft into the hub\'s body, or into problems a person can fix', () => {
    const session: Session = { id: 'keynote', title: 'Opening keynote', zone: 'hall', startsAt: '2026-06-01T07:00:00.000Z', endsAt: '2026-06-01T08:00:00.000Z', capacity: 400, overflow: 'annex', sponsor: null };
    const draft = draftOf(session, 'Europe/Berlin');
    expect(draft).toEqual({ id: 'keynote', title: 'Opening keynote', zone: 'hall', startsAt: '2026-06-01T09:00', endsAt: '2026-06-01T10:00', capacity: '400', overflow: 'annex', sponsor: '' });
    expect(bodyOf(draft, 'Europe/Berlin')).toEqual({ body: session });
    expect(bodyOf({ ...draft, id: '', title: 'Überblick: Café & Co.', capacity: '' }, 'Europe/Berlin')).toMatchObject({ body: { id: 'uberblick-cafe-co', capacity: null } });
    const bad = bodyOf({ ...draft, title: ' ', endsAt: '2026-06-01T08:00', capacity: '2.5', overflow: 'hall' }, 'Europe/Berlin');
    expect(bad).toEqual({ problems: ['Give the session a title.', 'Give the session an id (letters, digits, dashes).', 'It must end after it starts.', "Seats must be a whole number above 0, or empty for the room's capacity.", 'The overflow room must be another room.'].filter((p) => !p.startsWith('Give the session an id')) });
    // A number input binds a number, or null once cleared.
    expect(bodyOf({ ...draft, capacity: 250 }, 'UTC')).toMatchObject({ body: { capacity: 250 } });
    expect(bodyOf({ ...draft, capacity: null }, 'UTC')).toMatchObject({ body: { capacity: null } });
    expect(idFromTitle('Opening keynote: 2026!')).toBe('opening-keynote-2026');
    expect(blankDraft([{ id: 'hall' }], 'UTC', Date.parse('2026-06-01T08:10:00Z'))).toMatchObject({ zone: 'hall', startsAt: '2026-06-01T09:00', endsAt: '2026-06-01T10:00' });
  });
});

describe('a room\'s projector', () => {
  const at = (h: number) => new Date(Date.UTC(2026, 5, 1, h)).toISOString();
  const s = (id: string, zone: string, from: number, to: number, overflow: string | null = null): Session => ({ id, title: id, zone, startsAt: at(from), endsAt: at(to), capacity: null, overflow, sponsor: null });
  const agenda = [s('keynote', 'hall', 9, 10, 'annex'), s('workshop', 'annex', 9, 11), s('panel', 'hall', 11, 12, 'annex')];

  it('follows the main room\'s session while the room is its overflow, then its own, then nothing', () => {
    expect(roomShow(agenda, 'annex', Date.UTC(2026, 5, 1, 9, 30))).toEqual({ session: agenda[0], overflow: true });
    expect(roomShow(agenda, 'annex', Date.UTC(2026, 5, 1, 10, 30))).toEqual({ session: agenda[1], overflow: false });
    expect(roomShow(agenda, 'hall', Date.UTC(2026, 5, 1, 9, 30))).toEqual({ session: agenda[0], overflow: false });
    expect(roomShow(agenda, 'annex', Date.UTC(2026, 5, 1, 11, 0))).toEqual({ session: agenda[2], overflow: true });
    expect(roomShow(agenda, 'annex', Date.UTC(2026, 5, 1, 12, 0))).toBeUndefined();
  });
});
