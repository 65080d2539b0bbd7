import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commands } from '../src/commands.ts';
import { renderProtocolDoc } from '../src/protocol-doc.ts';

describe('docs/protocol.md', () => {
  it('is what the zod schemas generate (run `npm run docs` after changing a schema)', () => {
    expect(readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8')).toBe(renderProtocolDoc());
  });

  it('documents every command', () => {
    const doc = renderProtocolDoc();
    for (const name of Object.keys(commands)) expect(doc).toContain(`### \`${name}\``);
  });
});
