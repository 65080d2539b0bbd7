// npm records an optional platform package in the lock only if the registry can serve it. The registry these
// machines reach lacks some (rollup's builds for other platforms), so a lock written here lists optional deps it
// has no entry for, and `npm ci` then refuses the lock as out of sync. Drop exactly those dangling optional
// references (never a package this platform needs: those have entries), and say what was dropped.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages ?? {};
const dropped = [];
for (const [path, entry] of Object.entries(packages)) {
  if (!entry.optionalDependencies) continue;
  for (const name of Object.keys(entry.optionalDependencies)) {
    const nested = `${path}/node_modules/${name}`;
    if (packages[nested] || packages[`node_modules/${name}`]) continue;
    delete entry.optionalDependencies[name];
    dropped.push(`${path || '(root)'} → ${name}`);
  }
}
if (dropped.length > 0) {
  writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
  process.stdout.write(`normalize-lock: dropped ${dropped.length} optional platform packages this registry cannot serve:\n  ${dropped.join('\n  ')}\n`);
}
