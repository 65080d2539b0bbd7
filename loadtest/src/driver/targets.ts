import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SocketioClient, TargetName } from '../core/specs.ts';

/** A system under test: how to start its server and how its clients address it. */
export interface Target {
  readonly name: TargetName;
  /** for the table header, with the version that ran */
  readonly label: string;
  readonly script: string;
  /** the URL clients connect to */
  url(port: number): string;
  /** socket.io only: the client its subscribers run on (socket.io-client when absent) */
  readonly socketioClient?: SocketioClient;
  /** names this target's client processes apart from another target on the same server; `name` when absent */
  readonly key?: string;
}

const require = createRequire(import.meta.url);
/** The installed version of `pkg`; through its entry point when its `exports` hide `package.json` (Hocuspocus). */
function version(pkg: string): string {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    for (let dir = dirname(require.resolve(pkg)); dir !== dirname(dir); dir = dirname(dir)) {
      try {
        const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
        if (manifest.name === pkg) return manifest.version;
      } catch {
        // not this folder
      }
    }
    return '?';
  }
}

export const opshubTarget: Target = {
  name: 'opshub',
  label: 'opshub',
  script: fileURLToPath(new URL('../servers/opshub-server.ts', import.meta.url)),
  url: (port) => `ws://127.0.0.1:${port}/ws`,
};

/** The baseline every scenario here compares against: what a team would otherwise pick. */
export const socketioTarget: Target = {
  name: 'socketio',
  label: `socket.io ${version('socket.io')}`,
  script: fileURLToPath(new URL('../servers/socketio-server.ts', import.meta.url)),
  url: (port) => `http://127.0.0.1:${port}`,
};

/**
 * The same socket.io server (a target of the same `name` shares the run's server), its subscribers on the bench's
 * lean client speaking Engine.IO/socket.io itself (clients/lean-socketio-connection.ts): what socket.io does with
 * the client cost opshub's subscribers have, so neither column measures the harness.
 */
export const socketioLeanTarget: Target = {
  ...socketioTarget,
  label: `${socketioTarget.label} (lean client)`,
  socketioClient: 'lean',
  key: 'socketio-lean',
};

/**
 * The limit column of fan-out and event-day-mix: uWebSockets.js alone calling `app.publish` (no auth, bus or
 * history), reached by the same subscribers as opshub. Not a peer: what no server on this core can beat.
 */
export const uwsTarget: Target = {
  name: 'uws',
  label: 'uWS app.publish (limit)',
  script: fileURLToPath(new URL('../servers/uws-server.ts', import.meta.url)),
  url: (port) => `ws://127.0.0.1:${port}/ws`,
};

/** The gate-partition baseline: the y-websocket reference server, reached by unmodified `WebsocketProvider`s. */
export const yWebsocketTarget: Target = {
  name: 'y-websocket',
  label: `@y/websocket-server ${version('@y/websocket-server')}`,
  script: fileURLToPath(new URL('../servers/y-websocket-server.ts', import.meta.url)),
  url: (port) => `ws://127.0.0.1:${port}`,
};

/** The other gate-partition peer: Hocuspocus, reached by its own `HocuspocusProvider`. */
export const hocuspocusTarget: Target = {
  name: 'hocuspocus',
  label: `Hocuspocus ${version('@hocuspocus/server')}`,
  script: fileURLToPath(new URL('../servers/hocuspocus-server.ts', import.meta.url)),
  url: (port) => `ws://127.0.0.1:${port}`,
};
