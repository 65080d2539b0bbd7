// A worker thread's entry: the hub runs from TypeScript sources (tsx), and a worker does not inherit the parent's
// loader, so it registers tsx before importing its real entry (workerData.entry, a file URL).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
