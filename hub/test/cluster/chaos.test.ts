/**
 * Chaos through the load balancer (issue 18 item 2), the short CI version of the drill (profile `ci`): two hubs behind
 * HAProxy on a private Redis and a private PostgreSQL (started here; the machine's shared ones are never touched), a
 * steady event day (gates admitting through real edge agents, attendees voting and chatting, a control room resuming
 * with `since`), then kill -9 of one hub (started again), a Redis restart and a PostgreSQL restart. Nothing within the
 * replay window may be lost or arrive twice, no acknowledged write may be missing from PostgreSQL, every client must
 * come back, and each hub's /healthz must say which backend is down while it is, and 200 again after. About 2 min
 * on an idle 2-core machine; timings are printed and bounded generously (the machine may be loaded 20+). The bench's
 * `chaos` scenario runs the long version (profile `bench`: three hubs, each killed, 10 s outages).
 */
import { expect, it } from 'vitest';
import { drillProfiles, runChaosDrill } from './chaos/chaos-drill.ts';
import { describeWithTool } from '../support/services.ts';

describeWithTool('haproxy', 'chaos behind HAProxy', () => {
  describeWithTool('redis-server', 'on a private Redis', () => {
    describeWithTool('postgres', 'and a private PostgreSQL', () => {
      it('loses nothing and doubles nothing through kill -9 of a hub, a Redis restart and a PostgreSQL restart', async () => {
        const report = await runChaosDrill({ ...drillProfiles.ci, log: (line) => console.log(`[chaos] ${line}`) });
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

        const hubs = Array.from({ length: report.hubs }, (_, i) => `hub-${i + 1}`);
        expect(hubs).toHaveLength(drillProfiles.ci.hubs);
        for (const hub of hubs) {
          expect(report.healthz.redisDown[hub], `${hub} while Redis was down`).toEqual(['503 redis bus unreachable']);
          expect(report.healthz.postgresDown[hub], `${hub} while PostgreSQL was down`).toEqual(['503 postgres store unreachable']);
        }
        // The killed hub left HAProxy's rotation and came back into it.
        expect(Object.keys(report.healthz.killed).sort()).toEqual(hubs.slice(0, drillProfiles.ci.kills));
        expect(report.healthz.redisReadyAgainMs).toBeLessThan(30_000);
        expect(report.healthz.postgresReadyAgainMs).toBeLessThan(30_000);
      }, 900_000);
    });
  });
});
