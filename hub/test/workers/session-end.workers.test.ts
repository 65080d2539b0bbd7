// The same suite as ../auth/session-end.test.ts (a revoked token's and an expired token's sockets are closed, on two
// hubs sharing PostgreSQL), on hub processes whose public port is served by 2 socket worker threads (HUB_WORKERS=2).
process.env.TEST_HUB_WORKERS = '2';
await import('../auth/session-end.test.ts');
export {};
