import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { noNotices } from '@opshub/replica';
import { NoticesLongPoll } from '../src/notices-long-poll.ts';

// The long poll on a plain HTTP server, so the test can see how many requests it holds.
const poll = new NoticesLongPoll({ read: () => noNotices, onChange: () => () => {} });
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((request, response) => void poll.answer(request, response, Number(new URL(request.url!, 'http://x').searchParams.get('wait') ?? 0)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/announcements`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

it('holds at most 32 requests at once and tells the next to come back in a second', async () => {
  const tag = (await fetch(url)).headers.get('etag')!;
  const held = Array.from({ length: 32 }, () => fetch(`${url}?wait=2`, { headers: { 'if-none-match': tag } }));
  await expect.poll(() => poll.waiting).toBe(32);
  const refused = await fetch(`${url}?wait=2`, { headers: { 'if-none-match': tag } });
  expect(refused.status).toBe(429);
  expect(refused.headers.get('retry-after')).toBe('1');
  expect(await refused.json()).toMatchObject({ error: 'busy' });
  expect((await Promise.all(held)).map((r) => r.status)).toEqual(Array(32).fill(304));
  expect(poll.waiting).toBe(0);
  // Once they are answered, a request is held again.
  const again = await fetch(`${url}?wait=1`, { headers: { 'if-none-match': tag } });
  expect(again.status).toBe(304);
});
