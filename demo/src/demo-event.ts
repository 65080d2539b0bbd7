/**
 * The generated event the demo runs: a mid-sized expo. Hall A is the foyer hall everyone arrives into through two
 * entrances; Hall B, the VIP lounge and the workshop room each have one door. Capacity is enforced as a venue
 * would: the big hall warns its gate staff past capacity (`warn`: the fire-code limit is far above the hall's
 * comfortable 1,200), the rooms refuse at the door (`refuse`). One door per refusing room means its gate sees every
 * admission into it, so it never admits past capacity, offline or not (see docs/gates.md, "Directives").
 */
export const demoEvent = {
  id: 'demo',
  name: 'opshub Demo Expo',
  timezone: 'Europe/Berlin',
  zones: [
    { id: 'hall-a', name: 'Hall A', capacity: 1200, enforce: 'warn' },
    { id: 'hall-b', name: 'Hall B', capacity: 250, enforce: 'refuse' },
    { id: 'vip', name: 'VIP lounge', capacity: 40, enforce: 'refuse' },
    { id: 'workshop', name: 'Workshop room', capacity: 60, enforce: 'refuse' },
  ],
  gates: [
    { id: 'north', name: 'North entrance', zone: 'hall-a' },
    { id: 'south', name: 'South entrance', zone: 'hall-a' },
    { id: 'hall-b', name: 'Hall B door', zone: 'hall-b' },
    { id: 'vip', name: 'VIP lounge door', zone: 'vip' },
    { id: 'workshop', name: 'Workshop door', zone: 'workshop' },
  ],
} as const;

/** The zone everyone arrives into. */
export const mainZone = 'hall-a';

const first = ['Ada', 'Grace', 'Alan', 'Katherine', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Radia', 'Tim', 'Frances', 'Edsger', 'Hedy', 'Donald', 'Anita', 'Guido', 'Shafi', 'Bjarne', 'Sophie'];
const last = ['Lovelace', 'Hopper', 'Turing', 'Johnson', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Perlman', 'Berners-Lee', 'Allen', 'Dijkstra', 'Lamarr', 'Knuth', 'Borg', 'van Rossum', 'Goldwasser', 'Stroustrup', 'Wilson'];

export interface DemoTicket {
  code: string;
  holder: string;
  email: string;
  type: 'general' | 'vip' | 'workshop';
  zones: string[];
}

/**
 * A deterministic roster: the same codes every run, so a restarted demo finds its tickets.
 * @example demoRoster(3000).filter((t) => t.type === 'vip').length // 150
 */
export function demoRoster(count: number): DemoTicket[] {
  return Array.from({ length: count }, (_, i) => {
    const holder = `${first[i % first.length]} ${last[Math.floor(i / first.length) % last.length]}`;
    const type = i % 20 === 0 ? 'vip' : i % 13 === 0 ? 'workshop' : 'general';
    const zones = type === 'vip' ? [] : type === 'workshop' ? ['hall-a', 'hall-b', 'workshop'] : ['hall-a', 'hall-b'];
    return { code: `DEMO-${String(i).padStart(5, '0')}`, holder, email: `${holder.toLowerCase().replace(/[^a-z]+/g, '.')}.${i}@example.org`, type, zones };
  });
}
