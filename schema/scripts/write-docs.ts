/** `npm run docs`: regenerates docs/protocol.md from the zod schemas. */
import { writeFileSync } from 'node:fs';
import { renderProtocolDoc } from '../src/protocol-doc.ts';

const target = new URL('../../docs/protocol.md', import.meta.url);
writeFileSync(target, renderProtocolDoc());
process.stdout.write(`wrote ${target.pathname}\n`);
