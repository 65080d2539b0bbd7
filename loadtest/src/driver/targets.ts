import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { TargetName } from '../core/specs.ts';

/** A system under test: how to start its server and how its clients address it. */
export interface Target {
  readonly name: TargetName;
  /** for the table header, with the version that ran */
  readonly label: string;
  readonly script: string;
  /** the URL clients connect to */
  url(port: number): string;
}

const require = createRequire(import.meta.url);
const version = (pkg: string): string => (require(`${pkg}/package.json`) as { version: string }).version;

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

/** The gate-partition baseline: the y-websocket reference server, reached by unmodified `WebsocketProvider`s. */
export const yWebsocketTarget: Target = {
  name: 'y-websocket',
  label: `@y/websocket-server ${version('@y/websocket-server')}`,
  script: fileURLToPath(new URL('../servers/y-websocket-server.ts', import.meta.url)),
  url: (port) => `ws://127.0.0.1:${port}`,
};
