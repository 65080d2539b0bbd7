import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { createChdbClient } from '../../src/analytics/chdb-client.ts';
import { analyticsContract } from './analytics-contract.ts';

// chDB binds one data folder per process; vitest gives each test file its own process, so one folder per file.
const dir = mkdtempSync(join(tmpdir(), 'opshub-chdb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('analytics on chDB (embedded)', () => {
  analyticsContract({ kind: 'chdb', client: () => createChdbClient({ path: join(dir, 'clickhouse') }) });
});
