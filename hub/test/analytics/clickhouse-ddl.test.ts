import { expect, it } from 'vitest';
import { clickhouseDdl, splitStatements } from '../../../schema/clickhouse/index.ts';

it('loads the numbered DDL files in order, each statement idempotent', async () => {
  const statements = await clickhouseDdl();
  expect(statements[0]).toMatch(/CREATE TABLE IF NOT EXISTS events/);
  for (const statement of statements) expect(statement).toMatch(/IF NOT EXISTS/);
});

it('drops whole-line comments (semicolons in them too), then splits on semicolons', () => {
  const file = '-- a comment; with a semicolon\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n  -- between\nCREATE VIEW v AS SELECT x FROM a;\n-- trailing\n';
  expect(splitStatements(file)).toEqual(['CREATE TABLE a (x UInt8) ENGINE = Memory', 'CREATE VIEW v AS SELECT x FROM a']);
});
