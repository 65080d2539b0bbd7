import { ZodError } from 'zod';
import type { ErrorCode } from '@opshub/schema';
import { AuthError } from './auth/token-verifier.ts';
import { BusUnavailableError } from './bus/bus.ts';
import { ConflictError, NotFoundError, TicketCsvError } from './store/errors.ts';
import { isStoreUnavailable } from './store/store-unavailable.ts';

/** An error meant for the client: a contract error code, an HTTP status and a message safe to show. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** an HTTP status other than the code's usual one, e.g. 413 for an oversized body */
    readonly status?: number,
  ) {
    super(message);
  }
}

const statusOf: Record<ErrorCode, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

export interface ErrorReply {
  readonly code: ErrorCode;
  readonly status: number;
  readonly message: string;
  /** true when the cause is ours, not the client's: worth a log line with the stack */
  readonly internal: boolean;
}

/** Maps any error to what the client is told. Unknown errors become `internal` without leaking their text. */
export function toErrorReply(error: unknown): ErrorReply {
  const reply = (code: ErrorCode, message: string, internal = false): ErrorReply => ({ code, status: statusOf[code], message, internal });
  if (error instanceof ClientError) return { ...reply(error.code, error.message), status: error.status ?? statusOf[error.code] };
  if (error instanceof ZodError) return reply('invalid', describeZodError(error));
  if (error instanceof AuthError) return reply('unauthorized', error.message);
  if (error instanceof NotFoundError) return reply('not_found', error.message);
  if (error instanceof TicketCsvError) return reply('invalid', error.message);
  if (error instanceof ConflictError) return reply('conflict', error.message);
  if (error instanceof BusUnavailableError) return reply('unavailable', error.message);
  if (isStoreUnavailable(error)) return { ...reply('unavailable', 'the Store (database) cannot be reached right now; nothing was written, try again in a few seconds'), internal: true };
  // The net under validation: a value the Store refuses (SQLSTATE class 22 data exception, 54 limit; 23 a constraint)
  // came from the request, so it is the client's error, never a 500 (issue #11).
  const sqlstate = (error as { code?: unknown } | null)?.code;
  if (typeof sqlstate === 'string' && /^(22|54)[0-9A-Z]{3}$/.test(sqlstate)) return { ...reply('invalid', 'a value in the request cannot be stored (out of range, too long, or holding a character the Store refuses)'), internal: true };
  if (sqlstate === '23505') return reply('conflict', 'that exists already');
  if (typeof sqlstate === 'string' && /^23[0-9A-Z]{3}$/.test(sqlstate)) return { ...reply('invalid', 'the request breaks a rule of the Store (a reference to something that does not exist, or a value out of range)'), internal: true };
  return reply('internal', 'internal error', true);
}

/** `path: message` of the first few issues, e.g. `args.level: Invalid option: expected one of "info"|"warning"|"emergency"`. */
export function describeZodError(error: ZodError, prefix = ''): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(frame)'}: ${i.message}`)
    .join('; ');
}
