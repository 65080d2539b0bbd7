/**
 * The agent's options: parsed from argv once, validated with zod, frozen.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import { Claims, hasEvent, Id } from '@opshub/schema';

export const usage = `usage: opshub-edge --event ID --gate ID (--token JWT | --token-file PATH | env OPSHUB_TOKEN) [--hub ws://HOST:PORT]
                   [--port 7070] [--data DIR] [--peer ws://HOST:PORT]... [--host 0.0.0.0] [--device ID] [--lan-api]
                   [--compact-after BYTES]
  The token is read from --token, else from the file --token-file names, else from OPSHUB_TOKEN: the last two keep
  the JWT out of process lists and npm's command banner.`;

/** A bad option; the message names the option and what is wrong. */
export class OptionsError extends Error {
  override readonly name = 'OptionsError';
}

const WsUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'ws:' || url.protocol === 'wss:') && url.search === '' && url.hash === '';
    } catch {
      return false;
    }
  }, 'expected ws://HOST:PORT or wss://HOST:PORT (no query)')
  .transform((value) => value.replace(/\/+$/, ''));

export const AgentOptions = z.object({
  hub: WsUrl.optional(),
  event: Id,
  gate: Id,
  token: z.string().min(10, 'expected a JWT').max(8192),
  port: z.coerce.number().int().min(0).max(65535).default(7070),
  host: z.string().min(1).default('0.0.0.0'),
  data: z.string().min(1).optional(),
  peer: z.array(WsUrl).default([]),
  device: Id.optional(),
  lanApi: z.boolean().default(false),
  /** Compact the disk log past this many bytes (tests set it low). */
  compactAfterBytes: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
});
export type AgentOptionsInput = z.input<typeof AgentOptions>;
export type AgentOptions = Readonly<z.output<typeof AgentOptions> & { data: string }>;

/**
 * Validates options (from argv or from code) and checks the token is meant for this event and gate.
 * @example const options = resolveOptions({ event: 'expo', gate: 'north', token, hub: 'ws://hub:8080' });
 */
export function resolveOptions(input: AgentOptionsInput): AgentOptions {
  const parsed = AgentOptions.safeParse(input);
  if (!parsed.success) {
    throw new OptionsError(parsed.error.issues.map((i) => `--${flagName(String(i.path[0] ?? ''))}: ${i.message}`).join('\n'));
  }
  const options = parsed.data;
  checkToken(options.token, options.event, options.gate);
  return Object.freeze({ ...options, peer: [...new Set(options.peer)], data: options.data ?? `./data/edge-${options.event}-${options.gate}` });
}

/**
 * Parses command-line arguments; the token may come from `--token-file` or `OPSHUB_TOKEN` in `env` instead.
 * @example const options = parseAgentArgs(process.argv.slice(2), process.env);
 */
export function parseAgentArgs(argv: string[], env: Readonly<Record<string, string | undefined>> = {}): AgentOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        hub: { type: 'string' },
        event: { type: 'string' },
        gate: { type: 'string' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        peer: { type: 'string', multiple: true },
        device: { type: 'string' },
        'lan-api': { type: 'boolean' },
        'compact-after': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new OptionsError(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
  }
  const { 'lan-api': lanApi, 'compact-after': compactAfterBytes, 'token-file': tokenFile, ...rest } = values;
  const input: Record<string, unknown> = { ...rest, lanApi: lanApi ?? false, ...(compactAfterBytes !== undefined && { compactAfterBytes }) };
  input['token'] ??= tokenFile !== undefined ? readTokenFile(tokenFile) : env['OPSHUB_TOKEN']?.trim() || undefined;
  for (const key of ['event', 'gate'] as const) {
    if (input[key] === undefined) throw new OptionsError(`--${key} is required\n${usage}`);
  }
  if (input['token'] === undefined) throw new OptionsError(`a token is required: --token, --token-file or OPSHUB_TOKEN\n${usage}`);
  return resolveOptions(input as AgentOptionsInput);
}

function readTokenFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new OptionsError(`--token-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** The agent cannot verify its own token (no secret), but it can refuse one that is plainly for something else. */
function checkToken(token: string, event: string, gate: string): void {
  let claims: Claims;
  try {
    claims = Claims.parse(decodeJwt(token));
  } catch {
    throw new OptionsError('--token: not an opshub JWT (mint one with `npm run token -- --role gate --event ID --gate ID`)');
  }
  if (!['gate', 'staff', 'admin'].includes(claims.role)) throw new OptionsError(`--token: role ${claims.role} cannot run a gate (gate, staff or admin)`);
  if (!hasEvent(claims, event)) throw new OptionsError(`--token: the token is not for event ${event}`);
  if (claims.gate !== undefined && claims.gate !== gate) throw new OptionsError(`--token: the token is for gate ${claims.gate}, not ${gate}`);
}

function flagName(key: string): string {
  return key === 'lanApi' ? 'lan-api' : key === 'compactAfterBytes' ? 'compact-after' : key;
}
