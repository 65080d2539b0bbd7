/** The agent takes its token from --token, a file, or OPSHUB_TOKEN, so a JWT need not show in process lists. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { minter } from '../../hub/test/support/test-hub.ts';
import { OptionsError, parseAgentArgs } from '../src/agent-options.ts';

let dir: string;
let token: string;
const base = ['--event', 'expo', '--gate', 'north'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opshub-agent-options-'));
  token = await minter.mint({ sub: 'device:d-1', role: 'gate', events: ['expo'], gate: 'north' });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it('reads the token from --token-file (trailing newline trimmed), from OPSHUB_TOKEN, and prefers --token', async () => {
  const file = join(dir, 'north.jwt');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  expect(parseAgentArgs([...base, '--token-file', file]).token).toBe(token);
  expect(parseAgentArgs(base, { OPSHUB_TOKEN: token }).token).toBe(token);
  expect(parseAgentArgs([...base, '--token', token], { OPSHUB_TOKEN: 'ignored' }).token).toBe(token);
});

it('names what is missing or unreadable', () => {
  expect(() => parseAgentArgs(base, {})).toThrow(/--token, --token-file or OPSHUB_TOKEN/);
  expect(() => parseAgentArgs([...base, '--token-file', join(dir, 'absent.jwt')])).toThrow(OptionsError);
  expect(() => parseAgentArgs([...base, '--token-file', join(dir, 'absent.jwt')])).toThrow(/--token-file: cannot read .*ENOENT/);
});
