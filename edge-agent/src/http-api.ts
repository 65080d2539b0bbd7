/**
 * The agent's local HTTP API (contract: POST /scan, GET /status, GET /lookup, GET / the gate screen; beyond it, for
 * the gate screen: GET /announcements and POST /announcements/shown, see docs/gates.md).
 * Bodies and queries are validated with zod; bad input is answered `400 {"error":"invalid","message"}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { Direction } from '@opshub/replica';
import type { GateDesk } from './gate-desk.ts';
import type { TicketSearch } from './ticket-search.ts';
import { NoticesLongPoll, NoticesQuery, type NoticeSource } from './notices-long-poll.ts';
import { LogWriteError } from './update-log.ts';

const MAX_BODY_BYTES = 16 * 1024;

export const ScanBody = z.strictObject({
  code: z.string().trim().min(1, 'code is empty').max(4096),
  dir: Direction.default('in'),
  /** a deliberate override of `zone_full` / `gate_closed` at the gate screen: admitted, and recorded as such */
  override: z.boolean().default(false),
});

/** `POST /announcements/shown`: the gate screen showed these announcements (issue 12); the agent tells the hub through its presence. */
export const ShownBody = z.strictObject({ ids: z.array(z.string().min(1).max(64)).min(1).max(20) });

export const LookupQuery = z.object({
  q: z.string().trim().min(1, 'q is empty').max(200),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export interface AgentStatus {
  online: boolean;
  peers: number;
  pending: number;
  /** Last moment the replica was known in step with the hub (ms since the epoch); 0 = never. */
  lastSync: number;
  tickets: number;
  scans: number;
  event: string;
  gate: string;
  device: string;
  zone: string | null;
  hub: string;
  inside: number;
  duplicates: number;
  /** Updates in the replica not yet on disk (0: everything it holds survives kill -9 and power loss). */
  unsaved: number;
  /** Holds mesh credentials from the hub (until then it admits and dials no peers, and its scans carry no MAC). */
  paired: boolean;
}

export interface HttpApiOptions {
  desk: GateDesk;
  search: TicketSearch;
  status: () => AgentStatus;
  /** Tells whether a ticket is inside, for lookup results. */
  inside: (code: string) => boolean;
  screen: string;
  /** The announcements in the replica (the active emergency and the latest few) and their changes (GET /announcements). */
  notices: NoticeSource;
  /** The gate screen showed these announcements (POST /announcements/shown). */
  showed: (ids: string[]) => void;
  /** Serve the API to other machines too (default: loopback only; the mesh endpoint is always open). */
  lanApi: boolean;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A node:http request listener for the local API.
 * @example http.createServer(createHttpApi({ desk, search, status, inside, screen, lanApi: false }));
 */
export function createHttpApi(options: HttpApiOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const notices = new NoticesLongPoll(options.notices);
  return (request, response) => {
    void route(options, notices, request, response).catch((error: unknown) => {
      if (error instanceof HttpError) return sendJson(response, error.status, { error: error.code, message: error.message });
      // The scan could not be made durable: not acknowledged, the gate screen asks to scan again.
      if (error instanceof LogWriteError) return sendJson(response, 503, { error: 'unavailable', message: error.message });
      sendJson(response, 500, { error: 'internal', message: error instanceof Error ? error.message : String(error) });
    });
  };
}

async function route(options: HttpApiOptions, notices: NoticesLongPoll, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (!options.lanApi && !isLoopback(request.socket.remoteAddress)) throw new HttpError(403, 'forbidden', 'the gate API answers this machine only (start with --lan-api to open it)');
  const url = new URL(request.url ?? '/', 'http://agent');
  const route = `${request.method} ${url.pathname}`;
  switch (route) {
    case 'POST /scan': {
      const body = ScanBody.safeParse(await readJson(request));
      if (!body.success) throw invalid(body.error);
      return sendJson(response, 200, await options.desk.scan(body.data.code, body.data.dir, body.data.override));
    }
    case 'GET /status':
      return sendJson(response, 200, options.status());
    case 'GET /lookup': {
      const query = LookupQuery.safeParse(Object.fromEntries(url.searchParams));
      if (!query.success) throw invalid(query.error);
      const results = options.search.find(query.data.q, query.data.limit).map(({ code, ticket }) => ({ code, ...ticket, inside: options.inside(code) }));
      return sendJson(response, 200, { results });
    }
    case 'GET /announcements': {
      const query = NoticesQuery.safeParse(Object.fromEntries(url.searchParams));
      if (!query.success) throw invalid(query.error);
      return notices.answer(request, response, query.data.wait);
    }
    case 'POST /announcements/shown': {
      const body = ShownBody.safeParse(await readJson(request));
      if (!body.success) throw invalid(body.error);
      options.showed(body.data.ids);
      return sendJson(response, 200, { ok: true });
    }
    case 'GET /':
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(options.screen);
      return;
    default:
      if (['/scan', '/status', '/lookup', '/announcements', '/announcements/shown', '/'].includes(url.pathname)) throw new HttpError(405, 'invalid', `${request.method} is not allowed on ${url.pathname}`);
      throw new HttpError(404, 'not_found', `no route ${url.pathname}`);
  }
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'invalid', `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'invalid', 'body is not JSON');
  }
}

function invalid(error: z.ZodError): HttpError {
  return new HttpError(400, 'invalid', error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return void response.end();
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1' || (address?.startsWith('127.') ?? false);
}
