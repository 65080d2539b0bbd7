import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AnalyticsEvent } from '../../src/analytics/analytics.ts';
import type { AnalyticsClient } from '../../src/analytics/analytics-client.ts';
import { createChdbClient } from '../../src/analytics/chdb-client.ts';
import { eventColumns, rowLine, toEventRow, type EventRow } from '../../src/analytics/event-row.ts';
import { InsertSender } from '../../src/analytics/insert-sender.ts';
import { EventBlockBuilder, encodeEventBlock } from '../../src/analytics/native-block.ts';
import { clickhouseDdl } from '../../../schema/clickhouse/index.ts';

// The columnar encoder against the real engine: every row written as a Native block must read back exactly as the
// same row written as TabSeparated text (the format the engine has always parsed), field for field.

const dir = mkdtempSync(join(tmpdir(), 'opshub-native-'));
let client: AnalyticsClient;
const staged = new InsertSender({ stage: true });

beforeAll(async () => {
  client = createChdbClient({ path: join(dir, 'clickhouse') });
  for (const statement of await clickhouseDdl()) await client.command({ query: statement });
});
afterAll(async () => {
  staged.close();
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

const awkward = [
  '',
  'plain',
  `quotes "double" and 'single'`,
  'tab\there',
  'new\nline and \r return',
  'back\\slash \\n not a newline',
  'nul \u0000 inside',
  'Zürich → 東京 «ok»',
  'emoji 🎟️🦆 (astral plane)',
  '\u2028 line separator',
  "x'); DROP TABLE events; --",
  'a'.repeat(127),
  'b'.repeat(128),
  'é'.repeat(64), // 64 chars, 128 bytes: the length needs two bytes though the text is short
  'c'.repeat(16_384),
  'd'.repeat(300_000),
];

function rowsFor(event: string): EventRow[] {
  return eventsFor(event).map(toEventRow);
}

function eventsFor(event: string): AnalyticsEvent[] {
  const events: AnalyticsEvent[] = [];
  awkward.forEach((text, i) => {
    events.push({
      ts: [1_000_000_000_000, 1_748_822_399_987, 7_258_118_400_000, 2 ** 41 + 1][i % 4]!,
      event,
      kind: `kind.${i % 3}`,
      actor: text,
      zone: awkward[(i + 1) % awkward.length],
      session: awkward[(i + 2) % awkward.length],
      exhibitor: awkward[(i + 3) % awkward.length],
      ticket: awkward[(i + 4) % awkward.length],
      properties: { text, i, nested: { list: [1, 2.5, -3, null, true], big: 2n ** 70n }, empty: {} },
    });
  });
  // nulls and missing values: every optional dimension absent or null
  events.push({ ts: 1_700_000_000_000, event, kind: 'kind.null', actor: null as unknown as string, zone: undefined, properties: null as unknown as Record<string, unknown> });
  return events;
}

const read = async (event: string) =>
  (await (
    await client.query({
      query: `SELECT toString(oid) AS oid, toString(toUnixTimestamp64Milli(ts)) AS ms, ${eventColumns.slice(1).join(', ')} FROM events WHERE event = {event:String} ORDER BY events.oid, events.ts, actor`,
      format: 'JSONEachRow',
      query_params: { event },
    })
  ).json()) as Record<string, string>[];

const settings = (token: string) => `insert_deduplication_token = '${token}', insert_deduplicate = 1, async_insert = 0`;

it('stores every field kind of a Native block exactly as the same rows sent as TabSeparated', async () => {
  const viaText = rowsFor('native-vs-text/text');
  const viaBlock = rowsFor('native-vs-text/block');
  await staged.send(client, { into: `events (${eventColumns.join(', ')})`, settings: settings('text-1'), format: 'TabSeparated', structure: `ts DateTime64(3, 'UTC'), ${eventColumns.slice(1).map((c) => `${c} String`).join(', ')}`, body: viaText.map(rowLine).join('\n') });
  await staged.send(client, { into: `events (${eventColumns.join(', ')})`, settings: settings('block-1'), format: 'Native', body: encodeEventBlock(viaBlock) });

  const [text, block] = [await read('native-vs-text/text'), await read('native-vs-text/block')];
  expect(block).toHaveLength(viaBlock.length);
  const withoutEvent = (rows: Record<string, string>[]) => rows.map(({ event: _event, ...rest }) => rest);
  expect(withoutEvent(block)).toEqual(withoutEvent(text));
  // and exactly what was encoded, not merely the same as the text path
  const expected = viaBlock.map((r) => ({ oid: '0', ms: String(r.ts), event: r.event, kind: r.kind, actor: r.actor, zone: r.zone, session: r.session, exhibitor: r.exhibitor, ticket: r.ticket, properties: r.properties }));
  const sort = (rows: Record<string, string>[]) => [...rows].sort((a, b) => Number(a.ms) - Number(b.ms) || (a.actor! < b.actor! ? -1 : a.actor! > b.actor! ? 1 : 0));
  expect(sort(block)).toEqual(sort(expected));
  expect(JSON.parse(block.find((r) => r.kind === 'kind.null')!.properties!)).toEqual({});
});

it('stores 64-bit ids exactly, up to the largest UInt64, and a block sent twice with its token once', async () => {
  const event = 'native-ids';
  const ids = [1n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n + 5n, 2n ** 64n - 1n];
  // epoch 0 and 1 ms too, which the TabSeparated text parser of DateTime64 does not read as milliseconds
  const rows = ids.map((_, i) => toEventRow({ ts: [0, 1, 1_700_000_000_000, 2 ** 42, 7_258_118_400_000][i]!, event, kind: 'id.check', properties: { i } }));
  const body = encodeEventBlock(rows, ids);
  const insert = { into: `events (oid, ${eventColumns.join(', ')})`, settings: settings('ids-1'), format: 'Native' as const, body };
  await staged.send(client, insert);
  await staged.send(client, insert);
  const stored = await read(event);
  expect(stored.map((r) => r.oid)).toEqual(ids.map(String));
  expect(stored.map((r) => r.ms)).toEqual(rows.map((r) => String(r.ts)));
});

it('encodes deterministically and refuses what a UInt64 cannot hold', () => {
  const rows = rowsFor('determinism');
  expect(encodeEventBlock(rows).equals(encodeEventBlock(rowsFor('determinism')))).toBe(true);
  expect(() => encodeEventBlock(rows.slice(0, 1), [-1])).toThrow(RangeError);
  expect(() => encodeEventBlock(rows.slice(0, 1), [2n ** 64n])).toThrow(RangeError);
  expect(() => encodeEventBlock(rows.slice(0, 2), [1])).toThrow(RangeError);
});

it('builds blocks event by event exactly as encodeEventBlock does, on reused column buffers, and adds nothing of an event it cannot read', () => {
  const builder = new EventBlockBuilder({ rows: 4 }); // small on purpose: the columns grow, then are reused
  const awkwardEvent = {
    ts: 1,
    event: 'e',
    kind: 'throws',
    get zone(): string {
      throw new Error('a getter that throws');
    },
  };
  const blocks = ['reuse-1', 'reuse-2', 'reuse-3', 'reuse-4'].map((event) => {
    const events = eventsFor(event);
    for (const e of events) {
      builder.add(e);
      if (e.kind === 'kind.1') expect(() => builder.add(awkwardEvent as never)).toThrow('a getter that throws');
    }
    expect(builder.count).toBe(events.length);
    return { rows: events.map(toEventRow), block: builder.take() };
  });
  // The first two blocks are stored and given back while the third is still out: their buffers carry the next ones.
  builder.release(blocks[0]!.block);
  builder.release(blocks[1]!.block);
  const more = eventsFor('reuse-5');
  for (const e of more) builder.add(e);
  const fifth = builder.take();
  expect(Buffer.concat(fifth.parts).equals(encodeEventBlock(more.map(toEventRow)))).toBe(true);
  // A block still out is unchanged by what was built after it.
  for (const { rows, block } of blocks.slice(2)) expect(Buffer.concat(block.parts).equals(encodeEventBlock(rows))).toBe(true);
  expect(builder.count).toBe(0);
});

it('leaves no staged file behind, stored or refused, and removes its folder on close', async () => {
  const sender = new InsertSender({ stage: true });
  const rows = rowsFor('native-cleanup');
  await sender.send(client, { into: `events (${eventColumns.join(', ')})`, settings: settings('cleanup-1'), format: 'Native', body: encodeEventBlock(rows) });
  await expect(sender.send(client, { into: 'no_such_table (ts)', settings: settings('cleanup-2'), format: 'Native', body: encodeEventBlock(rows) })).rejects.toThrow();
  const folder = sender.folder!;
  expect(readdirSync(folder)).toEqual([]);
  sender.close();
  expect(existsSync(folder)).toBe(false);
});

it('sweeps staging folders whose process is gone, and makes its own again when its folder disappears', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const abandoned = join(base, `opshub-analytics-${dead}-test`);
  mkdirSync(abandoned, { recursive: true });
  writeFileSync(join(abandoned, 'left.native'), 'x');
  const sender = new InsertSender({ stage: true });
  const insert = (token: string) => ({ into: `events (${eventColumns.join(', ')})`, settings: settings(token), format: 'Native' as const, body: encodeEventBlock(rowsFor('native-sweep')) });
  await sender.send(client, insert('sweep-1'));
  expect(existsSync(abandoned)).toBe(false);
  rmSync(sender.folder!, { recursive: true, force: true });
  await sender.send(client, insert('sweep-2'));
  expect(existsSync(sender.folder!)).toBe(true);
  expect((await read('native-sweep')).length).toBe(2 * rowsFor('native-sweep').length);
  sender.close();
});
