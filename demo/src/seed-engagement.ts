/**
 * What the demo puts on the engagement and sponsor pages, so each has something to show: an agenda (a keynote in
 * Hall A, a sponsored talk in Hall B, a workshop), two sponsors and three booths, polls with votes, questions
 * (approved, one pinned, upvoted), a little chat, and leads captured at the booths. All through the hub's own REST
 * endpoints and WebSocket commands, as the console and the audience page send them.
 */
import type { DemoTicket } from './demo-event.ts';
import { CommandRefused, HubCommands } from './hub-commands.ts';

export interface Minter {
  mint(claims: Record<string, unknown>, expiresIn?: string): Promise<string>;
}

export interface SeedTarget {
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly event: string;
  readonly adminToken: string;
  readonly minter: Minter;
}

export const demoSponsors = [
  { id: 'acme', name: 'Acme Cloud', sessions: ['edge-talk'] },
  { id: 'globex', name: 'Globex', sessions: [] as string[] },
];

export const demoExhibitors = [
  { id: 'acme-booth', name: 'Acme Cloud booth', zone: 'hall-b', sponsor: 'acme' },
  { id: 'globex-booth', name: 'Globex booth', zone: 'hall-a', sponsor: 'globex' },
  { id: 'makers', name: 'Indie Makers corner', zone: 'hall-b' },
];

/** Sessions around `now`: the keynote and the sponsored talk are running, the workshop starts soon. */
export function demoSessions(now: number): { id: string; title: string; zone: string; startsAt: number; endsAt: number; capacity?: number; sponsor?: string }[] {
  const min = 60_000;
  const at = (m: number) => Math.floor((now + m * min) / min) * min;
  return [
    { id: 'keynote', title: 'Opening keynote: the venue is the network', zone: 'hall-a', startsAt: at(-10), endsAt: at(50) },
    { id: 'edge-talk', title: 'Offline-first gates at 30,000 people', zone: 'hall-b', startsAt: at(-5), endsAt: at(40), capacity: 250, sponsor: 'acme' },
    { id: 'yjs-workshop', title: 'Hands-on: CRDTs with Yjs', zone: 'workshop', startsAt: at(5), endsAt: at(95), capacity: 60 },
  ];
}

/** Seeds everything; a demo restarted on its data finds most of it there and adds only what is missing. */
export async function seedEngagement(target: SeedTarget, roster: readonly DemoTicket[]): Promise<{ joinCode: string; summary: string }> {
  const base = `${target.httpUrl}/api/v1/events/${encodeURIComponent(target.event)}`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${target.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`POST ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as unknown;
  };
  // Sponsors before the sessions and booths that name them.
  await post('/sponsors', demoSponsors);
  await post('/sessions', demoSessions(Date.now()));
  await post('/exhibitors', demoExhibitors);
  // Four in five attendees agreed to share their name, email and ticket type with the booths they visit.
  await post('/consents', roster.filter((_, i) => i % 5 !== 4).map((t) => ({ code: t.code, fields: ['name', 'email', 'type'] })));
  const join = (await (await fetch(`${base}/join-code`, { headers: { authorization: `Bearer ${target.adminToken}` } })).json()) as { code: string };

  const ev = target.event;
  const mod = await HubCommands.open(target.wsUrl, target.adminToken);
  const attendees = await Promise.all(
    Array.from({ length: 24 }, async (_, i) => HubCommands.open(target.wsUrl, await target.minter.mint({ sub: `att-demo-${i}`, role: 'attendee', events: [ev] }, '7d'))),
  );
  let polls = 0;
  let votes = 0;
  let questions = 0;
  try {
    const created = async (args: Record<string, unknown>) => {
      try {
        await mod.send('poll.create', { event: ev, open: true, ...args });
        polls++;
      } catch (error) {
        // Created on an earlier run of the demo (the ids are fixed).
        if (!(error instanceof CommandRefused && error.code === 'conflict')) throw error;
      }
    };
    await created({ id: 'travel', session: 'keynote', kind: 'single', question: 'Where did you travel from today?', options: ['Berlin', 'Elsewhere in Germany', 'Elsewhere in Europe', 'Further away'] });
    await created({ id: 'one-word', session: 'keynote', kind: 'wordcloud', question: 'One word for this morning', maxWords: 1 });
    await created({ id: 'talk-rating', session: 'edge-talk', kind: 'rating', question: 'How useful was this talk?' });
    // Most come from the city, fewer from further away.
    const travelled = [0, 0, 1, 0, 2, 1, 0, 3, 1, 0, 2, 0];
    const words = ['coffee', 'queues', 'exciting', 'crowded', 'sunny', 'coffee', 'networking', 'exciting', 'coffee', 'early'];
    const vote = async (args: Record<string, unknown>, by: HubCommands) => {
      try {
        await by.send('poll.vote', { event: ev, ...args });
        votes++;
      } catch (error) {
        if (!(error instanceof CommandRefused && error.code === 'conflict')) throw error;
      }
    };
    await Promise.all(
      attendees.map(async (a, i) => {
        await vote({ poll: 'travel', options: [String(1 + travelled[i % travelled.length]!)] }, a);
        if (i < words.length) await vote({ poll: 'one-word', words: [words[i]!] }, a);
        if (i % 2 === 0) await vote({ poll: 'talk-rating', rating: 3 + (i % 3) }, a);
      }),
    );

    const asked: string[] = [];
    const texts = [
      'How do the gates keep working when the venue Wi-Fi is down?',
      'What happens to a scan made during a partition?',
      'Can the control room hold a gate remotely?',
      'Is there a limit to how many gates can mesh together?',
      'Will the slides be shared afterwards?',
    ];
    for (const [i, text] of texts.entries()) {
      try {
        const q = await attendees[i]!.send<{ id: string }>('qa.ask', { event: ev, session: 'keynote', text, ...(i % 2 ? { anonymous: true } : { name: roster[i * 31]?.holder ?? 'Guest' }) });
        asked.push(q.id);
        questions++;
      } catch (error) {
        // A rate limit or a closed session on a rerun: the questions asked before are still there.
        if (!(error instanceof CommandRefused)) throw error;
      }
    }
    for (const id of asked.slice(0, 4)) await mod.send('qa.approve', { event: ev, id });
    if (asked[0]) await mod.send('qa.pin', { event: ev, id: asked[0], pinned: true });
    await Promise.all(asked.slice(0, 4).flatMap((id, q) => attendees.slice(0, 12 - q * 3).map((a) => a.send('qa.upvote', { event: ev, id }).catch(() => undefined))));
    for (const [i, text] of ['Great start!', 'Is the keynote being recorded?', 'Coffee is at the back of Hall A'].entries()) {
      await attendees[i]!.send('chat.send', { event: ev, room: 'keynote', text, name: roster[i * 17]?.holder ?? 'Guest' }).catch(() => undefined);
    }
  } finally {
    mod.close();
    for (const a of attendees) a.close();
  }
  return {
    joinCode: join.code,
    summary: `${demoSessions(0).length} sessions, ${demoSponsors.length} sponsors, ${demoExhibitors.length} booths, ${polls} polls opened, ${votes} votes, ${questions} questions`,
  };
}

/**
 * Booth staff scanning badges while the demo runs: every few seconds a capture at one of the booths, of somebody
 * from the roster, with now and then a rating. Returns the stop function.
 */
export async function captureLeads(target: SeedTarget, roster: readonly DemoTicket[], everyMs = 4000): Promise<() => void> {
  const booths = await Promise.all(
    demoExhibitors.map(async (x) => ({ id: x.id, socket: await HubCommands.open(target.wsUrl, await target.minter.mint({ sub: `booth-${x.id}`, role: 'exhibitor', events: [target.event], exhibitor: x.id }, '7d')) })),
  );
  const timer = setInterval(() => {
    const booth = booths[Math.floor(Math.random() * booths.length)]!;
    const ticket = roster[Math.floor(Math.random() * roster.length)]!;
    const rating = Math.random() < 0.4 ? { rating: 1 + Math.floor(Math.random() * 5) } : {};
    void booth.socket.send('lead.capture', { event: target.event, exhibitor: booth.id, code: ticket.code, ...rating }).catch(() => undefined);
  }, everyMs);
  return () => {
    clearInterval(timer);
    for (const b of booths) b.socket.close();
  };
}
