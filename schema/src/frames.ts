import { z } from 'zod';


const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const TopicString = z.string().min(1).max(200);
const CommandId = z.union([z.string().min(1).max(64), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)]);

/** client → hub frames on `/ws`. */
// `id` on sub/unsub is an opshub extension: when present the hub confirms with `{"op":"ok","id","result":{"topic","seq"}}`
// once the subscription is live (seq = the last message the client has been sent for the topic).
// `epoch` (also an extension) is the one the hub reported with the seqs the client holds: under another epoch the
// seqs mean something else (the hub's history was lost), and the client gets `reset` instead of a wrong replay.
export const SubFrame = z.strictObject({
  op: z.literal('sub'),
  topic: TopicString,
  since: Seq.optional(),
  epoch: z.string().min(1).max(64).optional(),
  id: CommandId.optional(),
});
export const UnsubFrame = z.strictObject({ op: z.literal('unsub'), topic: TopicString, id: CommandId.optional() });
export const CmdFrame = z.strictObject({
  op: z.literal('cmd'),
  id: CommandId,
  name: z.string().min(1).max(64),
  args: z.record(z.string(), z.unknown()).default({}),
});
export const PingFrame = z.strictObject({ op: z.literal('ping') });
export const ClientFrame = z.discriminatedUnion('op', [SubFrame, UnsubFrame, CmdFrame, PingFrame]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type CmdFrame = z.infer<typeof CmdFrame>;

/** Error codes the hub answers with, in `err` frames and REST `{"error":CODE}` bodies. */
export const errorCodes = [
  'invalid',
  'unauthorized',
  'forbidden',
  'not_found',
  'rate_limited',
  'conflict',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

/** hub → client frames on `/ws` (documentation and tests; the hub builds them as strings on the hot path). */
export const MsgFrame = z.object({ op: z.literal('msg'), topic: z.string(), seq: Seq, ts: z.number(), data: z.unknown() });
export const OkFrame = z.object({ op: z.literal('ok'), id: CommandId, result: z.unknown() });
export const ErrFrame = z.object({
  op: z.literal('err'),
  id: CommandId.optional(),
  code: z.enum(errorCodes),
  message: z.string(),
});
export const ResetFrame = z.object({ op: z.literal('reset'), topic: z.string(), seq: Seq, epoch: z.string().optional() });
export const PongFrame = z.object({ op: z.literal('pong') });
export const HubFrame = z.discriminatedUnion('op', [MsgFrame, OkFrame, ErrFrame, ResetFrame, PongFrame]);
export type HubFrame = z.infer<typeof HubFrame>;

/** Close codes the hub uses on `/ws` and `/yjs`. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  invalidPayload: 1007,
  tooBig: 1009,
  /** the hub is shutting down; reconnect elsewhere */
  shutdown: 1012,
  unauthorized: 4401,
  forbidden: 4403,
  /** the client did not read fast enough; its buffered bytes passed the backpressure bound */
  slowConsumer: 4408,
  /** the client kept flooding after being rate limited */
  flood: 4429,
} as const;
