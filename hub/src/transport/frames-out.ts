import type { ErrorCode } from '@opshub/schema';

type Id = string | number | undefined;

/** hub → client frames that are not topic messages (those are built once per message by the bus). */
export const pongFrame = '{"op":"pong"}';

export function okFrame(id: Id, result: unknown): string {
  return JSON.stringify({ op: 'ok', id, result: result ?? {} });
}

export function errFrame(id: Id, code: ErrorCode, message: string): string {
  return JSON.stringify(id === undefined ? { op: 'err', code, message } : { op: 'err', id, code, message });
}

export function resetFrame(topic: string, seq: number, epoch: string): string {
  return JSON.stringify({ op: 'reset', topic, seq, epoch });
}
