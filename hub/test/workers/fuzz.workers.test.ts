// The same suite as ../protocol/fuzz.test.ts, on hubs whose public port is served by 2 socket worker threads
// (HUB_WORKERS=2, workers/socket-workers.ts): every /ws socket lives in a worker, REST and /yjs are forwarded.
process.env.TEST_HUB_WORKERS = '2';
await import('../protocol/fuzz.test.ts');
export {};
