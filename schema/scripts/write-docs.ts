/** `npm run docs`: regenerates docs/protocol.md and docs/openapi.json from the zod schemas. */
import { writeFileSync } from 'node:fs';
import { openApiJson } from '../src/openapi/openapi-document.ts';
import { renderProtocolDoc } from '../src/protocol-doc.ts';

for (const [name, text] of [
  ['protocol.md', renderProtocolDoc()],
  ['openapi.json', openApiJson()],
] as const) {
  const target = new URL(`../../docs/${name}`, import.meta.url);
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target.pathname}\n`);
}
