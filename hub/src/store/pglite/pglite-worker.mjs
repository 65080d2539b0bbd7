// The worker side of pglite-client.ts: PGlite (PostgreSQL compiled to wasm) runs here, so its queries, which run
// synchronously in wasm and parse every row in JavaScript, never hold the thread that serves the hub's sockets.
// Plain JavaScript so it runs in a worker thread whatever loader the hub itself was started with.
import { PGlite } from '@electric-sql/pglite';
import { readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { getPriority, setPriority } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';

// This thread yields to the event loop's: where both want the same core (a 2-core machine, a pinned process), the
// kernel gives the thread that relays the gates' updates and answers every socket most of it, and the Store's work
// (deriving check-ins, an import's statements) takes the rest. On Linux a thread's nice value is its own; setPriority
// with this thread's id (from /proc/thread-self) sets only it. Elsewhere, or when refused, it keeps the process's.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  // Relative to what it inherited: a hub started with `nice` keeps the same gap between its two threads.
  if (Number.isInteger(tid) && tid > 0 && workerData?.nice) setPriority(tid, Math.min(19, getPriority(tid) + workerData.nice));
} catch {
  // not Linux, or not allowed: same priority as the event loop
}

// bytea in PostgreSQL's hex text form with Node's native hex codec (see bytea-codec.ts for why; same code, kept here
// because a worker cannot import the hub's TypeScript).
const BYTEA_OID = 17;
const codecs = {
  parsers: {
    [BYTEA_OID]: (text) => {
      if (!text.startsWith('\\x')) throw new Error('expected bytea in hex output format');
      const bytes = Buffer.from(text.slice(2), 'hex');
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
  },
  serializers: {
    [BYTEA_OID]: (value) => {
      if (!(value instanceof Uint8Array)) throw new TypeError('a bytea parameter must be a Uint8Array');
      return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
    },
  },
};

/** @type {PGlite | undefined} */
let pglite;

/** An error as plain fields (PGlite's DatabaseError carries `code`, `detail`, `constraint`…: callers read them). */
function plain(error) {
  if (!(error instanceof Error)) return { message: String(error) };
  const fields = {};
  for (const [key, value] of Object.entries(error)) if (value === null || typeof value !== 'object') fields[key] = value;
  return { ...fields, name: error.name, message: error.message };
}

async function handle(message) {
  switch (message.type) {
    case 'open': {
      const template = message.template === undefined ? {} : { loadDataDir: new Blob([await readFile(message.template)]) };
      // The client's settings (pglite-client.ts: pgliteSettings) after PGlite's own start parameters, which they extend.
      const options = { ...template, ...codecs, startParams: [...PGlite.defaultStartParams, ...(message.settings ?? [])] };
      pglite = message.dataDir === undefined ? await PGlite.create(options) : await PGlite.create(message.dataDir, options);
      return {};
    }
    case 'query': {
      if (!pglite) throw new Error('PGlite is not open');
      const { rows, affectedRows } = await pglite.query(message.sql, message.params);
      return { rows, affectedRows };
    }
    case 'memory': {
      // The wasm memory never shrinks, and PostgreSQL touches what it grew to, so its size is what PGlite holds in
      // RSS (an upper bound for pages never written); the heap is this thread's own V8 isolate (rows being parsed).
      return { wasmBytes: pglite?.mod?.HEAPU8?.byteLength ?? 0, heapUsedBytes: getHeapStatistics().used_heap_size };
    }
    case 'close': {
      await pglite?.close();
      pglite = undefined;
      return {};
    }
    default:
      throw new Error(`unknown message ${message.type}`);
  }
}

// One message at a time, in order: PGlite has one session, and a transaction is a sequence of these.
let tail = Promise.resolve();
parentPort.on('message', (message) => {
  tail = tail.then(async () => {
    try {
      parentPort.postMessage({ id: message.id, result: await handle(message) });
    } catch (error) {
      parentPort.postMessage({ id: message.id, error: plain(error) });
    }
  });
});
