/**
 * Import figures (see `import-run.ts`): a roster of N rows (default 100,000) imported as CSV into a hub process with a
 * gate holding the gate doc, while a control client pings; then a re-import, a second gate's first sync and a hub
 * restart. Not part of the test suite; the bench's `import` scenario runs it, and so can you:
 *
 *   npx tsx hub/test/events/import-figures.ts                         # 100,000 rows, PGlite
 *   npx tsx hub/test/events/import-figures.ts --rows 20000 --database-url postgres://postgres@127.0.0.1:5432/test
 *   npx tsx hub/test/events/import-figures.ts --profile /tmp/prof     # each hub process writes a .cpuprofile there
 *
 * The last stdout line is `FIGURES {json}` (an `ImportFigures`).
 */
import { parseArgs } from 'node:util';
import { runImport } from './import-run.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    'database-url': { type: 'string' },
    profile: { type: 'string' },
    'skip-reimport': { type: 'boolean', default: false },
    'skip-first-sync': { type: 'boolean', default: false },
    'skip-reload': { type: 'boolean', default: false },
  },
});

const figures = await runImport({
  rows: Number(args.rows),
  databaseUrl: args['database-url'],
  nodeArgs: args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [],
  phases: { reimport: !args['skip-reimport'], firstSync: !args['skip-first-sync'], reload: !args['skip-reload'] },
  log: (line) => console.log(line),
});
console.log(`FIGURES ${JSON.stringify(figures)}`);
