/**
 * The stated limits of `WS /ws`, part of the contract: clients can size their behaviour on them.
 * The hub enforces exactly these unless a deployment overrides them.
 */
export const wsLimits = Object.freeze({
  /** a larger client frame closes the socket with 1009 */
  maxFrameBytes: 64 * 1024,
  /** frames above this are cut at the transport while being read (the client sees 1006, not 1009) */
  hardFrameCapBytes: 16 * 1024 * 1024,
  /** sustained client frames per second per connection; more are answered with `rate_limited` */
  framesPerSecond: 50,
  /** frames a connection may send at once above the sustained rate */
  burst: 100,
  /** consecutive `rate_limited` frames after which the socket is closed with 4429 */
  floodStrikes: 200,
  /** bytes waiting for a client on two consecutive one-second sweeps before it is closed with 4408 */
  slowConsumerBytes: 1024 * 1024,
  /** the hard bound where uWS closes a socket rather than skip a message for it */
  maxBackpressureBytes: 16 * 1024 * 1024,
  sweepMs: 1000,
  maxTopicsPerConnection: 200,
  /** seconds without traffic before a socket is dropped; the hub pings idle sockets automatically */
  idleTimeoutSeconds: 60,
  /**
   * Per identity (token `sub`) of the public roles (attendee): open sockets at most (more are refused with 429 before
   * the upgrade), and commands per second across all of them (more are answered `rate_limited` in memory, before
   * any I/O). After a command of the identity was refused `rate_limited` (by these limits or a stream's own, such as
   * chat's), its commands are refused in memory for `refusedCooldownMs`, so a flood costs no Store round trips.
   */
  maxSocketsPerIdentity: 8,
  identityCommandsPerSecond: 5,
  identityCommandBurst: 10,
  refusedCooldownMs: 1000,
});

/**
 * How far back `sub` with `since` can replay a topic: at least this many messages, and all from the last `ms`, within
 * byte budgets that win over both: `topicBytes` of frames per topic (`HUB_REPLAY_TOPIC_MB`), and on the in-process
 * bus `budgetBytes` for all topics together (`HUB_REPLAY_BUDGET_MB`), the oldest of the process going first.
 */
export const replayLimits = Object.freeze({ messages: 10_000, ms: 10 * 60_000, topicBytes: 8 * 1024 * 1024, budgetBytes: 64 * 1024 * 1024 });
