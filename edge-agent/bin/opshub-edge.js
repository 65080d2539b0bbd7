#!/usr/bin/env node
// The agent is TypeScript run by tsx (no build step): register the loader, then start the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
