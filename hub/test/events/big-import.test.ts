import { expect, it } from 'vitest';
import { describeWithService } from '../support/services.ts';
import { runImport, type ImportFigures, type PhaseFigures } from './import-run.ts';

/**
 * A heavy write does not freeze everyone (issue #11, item 5): a 100,000-row roster imported as CSV into a real hub
 * process while a gate holds the event's gate doc (so the roster is projected into the doc, stored and relayed to
 * the gate) and a control client pings `/ws` every 20 ms from a worker thread; then the hub restarts and the gate
 * comes back (the doc is loaded from the Store's log of roster writes). The bench's `import` scenario prints the same
 * run's figures (`npm run bench -- --only import`).
 *
 * Before: the projection ran as one chain of PGlite statements that never reached the event loop's poll phase, and
 * PGlite's bytea codec turned every byte of the ~10 MB of roster updates into a string: the event loop was held 9 s
 * at once (38 s seen on a machine at load 18), the re-import 3.6 s, the reload 7.8 s; the CSV was parsed in one go.
 *
 * The bounds. The goal, measured by the bench on a quiet machine, is a control ping p99 under 50 ms. This test runs
 * on CI machines with 2 cores shared by everything else, where one slice of work can wait a long time for a core: so
 * the bounds scale with what the same machine gives the idle hub a moment before (the ping p99 with nothing
 * imported) and never go below 250 ms for the p99 and 2 s for the longest single wait. The old code path fails both
 * by far: its longest wait is the whole projection (seconds of work no turn of the event loop interrupts), and no
 * amount of load makes an idle ping's p99 reach a second.
 */
function expectResponsive(phase: PhaseFigures, idle: ImportFigures['idle'], what: string): void {
  const p99Bound = Math.max(250, 6 * idle.pingP99Ms);
  const maxBound = Math.max(2000, 15 * idle.pingP99Ms);
  expect(phase.pingP99Ms, `${what}: control ping p99 (idle p99 ${idle.pingP99Ms} ms)`).toBeLessThan(p99Bound);
  expect(phase.pingMaxMs, `${what}: longest control ping (idle p99 ${idle.pingP99Ms} ms)`).toBeLessThan(maxBound);
}

it('imports 100,000 rows, and reloads them after a restart, while a control client\'s ping stays bounded (PGlite)', async () => {
  const figures = await runImport({ rows: 100_000, phases: { reload: true }, log: (line) => console.log(line) });
  console.log(`idle ping p50 ${figures.idle.pingP50Ms} p99 ${figures.idle.pingP99Ms} max ${figures.idle.pingMaxMs} ms`);
  expectResponsive(figures.import, figures.idle, 'import');
  expectResponsive(figures.reload!, figures.idle, 'reload');
}, 420_000);

describeWithService('DATABASE_URL', 'a 100,000-row import on PostgreSQL', (databaseUrl) => {
  it('imports while a control client\'s ping stays bounded', async () => {
    const figures = await runImport({ rows: 100_000, databaseUrl, log: (line) => console.log(line) });
    expectResponsive(figures.import, figures.idle, 'import');
  }, 300_000);
});
