import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * A node id that is unique per process and still tells an operator where it runs (it shows in `CLIENT LIST`).
 * @example newNodeId(); // 'gate-host-1/4711/9f3a2c'
 */
export function newNodeId(): string {
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, '').slice(0, 64) || 'hub';
  return `${host}/${process.pid}/${randomBytes(3).toString('hex')}`;
}
