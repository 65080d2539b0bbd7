import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openApiJson } from '../src/openapi/openapi-document.ts';

describe('docs/openapi.json', () => {
  it('is what the zod schemas generate (run `npm run docs` after changing a schema or an operation)', () => {
    expect(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')).toBe(openApiJson());
  });
});
