/**
 * Chaos through the load balancer (issue 18 item 2), short: three hubs behind HAProxy on a private Redis and a
 * private PostgreSQL (started here; the machine's shared ones are never touched), a steady event day (gates admitting
 * through real edge agents, attendees voting and chatting, a control room resuming with `since`), then kill -9 of
 * each hub in turn (each started again), a Redis restart and a PostgreSQL restart. Nothing within the replay window
 * may be lost or arrive twice, no acknowledged write may be missing from PostgreSQL, every client must come back,
 * and each hub's /healthz must say which backend is down while it is, and 200 again after. Timings are printed and
 * bounded generously (the machine may be loaded 20+); the bench's `chaos` scenario runs the long version.
 */
import { expect, it } from 'vitest';
import { runChaosDrill } from './chaos/chaos-drill.ts';
import { describeWithTool } from '../support/services.ts';

describeWithTool('haproxy', 'chaos behind HAProxy', () => {
  describeWithTool('redis-server', 'on a private Redis', () => {
    describeWithTool('postgres', 'and a private PostgreSQL', () => {
      it('loses nothing and doubles nothing through kill -9 of each hub, a Redis restart and a PostgreSQL restart', async () => {
        const report = await runChaosDrill({
          hubs: 3,
          tickets: 5000,
          warmupMs: 2000,
          settleMs: 1500,
          outageMs: 4000,
          load: { gates: 2, scanEveryMs: 150, voters: 16, voteEveryMs: 1500, chatters: 6, chatEveryMs: 1500 },
          log: (line) => console.log(`[chaos] ${line}`),
        });
        console.log(`[chaos] report ${JSON.stringify({ ...report, details: undefined }, null, 2)}`);
        const story = `\n${report.details}`;

        expect(report.acked.scans, 'gates admitted attendees').toBeGreaterThan(0);
        expect(report.acked.votes, 'votes acknowledged').toBeGreaterThan(0);
        expect(report.acked.chats, 'chat messages acknowledged').toBeGreaterThan(0);
        expect(report.scanFailures, 'every scan answered at its gate').toEqual([]);
        // Refusals are expected only while a backend is down (unavailable, internal) or a socket was cut (unanswered).
        expect(Object.keys(report.refused).filter((what) => !/ (unavailable|internal|unanswered)$/.test(what))).toEqual([]);
        expect({ lost: report.lost, duplicated: report.duplicated, resets: report.resets }, story).toEqual({ lost: 0, duplicated: 0, resets: 0 });
        expect(report.ackedWritesLost).toEqual({ scans: 0, votes: 0, chats: 0 });
        // Killing a hub closes its clients' sockets: every one of them came back through the balancer.
        expect(report.timeBack.outages).toBeGreaterThan(0);
        expect(report.timeBack.back, story).toBe(report.timeBack.outages);
        expect(report.timeBack.maxMs).toBeLessThan(90_000);

        for (const hub of ['hub-1', 'hub-2', 'hub-3']) {
          expect(report.healthz.redisDown[hub], `${hub} while Redis was down`).toEqual(['503 redis bus unreachable']);
          expect(report.healthz.postgresDown[hub], `${hub} while PostgreSQL was down`).toEqual(['503 postgres store unreachable']);
          expect(report.healthz.killed[hub], `${hub} left HAProxy's rotation and came back`).toBeDefined();
        }
        expect(report.healthz.redisReadyAgainMs).toBeLessThan(30_000);
        expect(report.healthz.postgresReadyAgainMs).toBeLessThan(30_000);
      }, 1_200_000);
    });
  });
});
