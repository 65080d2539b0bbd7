/**
 * Why a hub refused a gate's socket for good, in the close reason (`4403 …`), worded once for the hub that writes it
 * and the agent that reads it. Most 4403 refusals are about one update and the agent tries again later; a token for a
 * gate the event does not have never heals, so the agent stops and says which gate (issue #12, item 4).
 */

/**
 * The close reason for a gate token whose gate the event does not have (short: a close reason holds 123 bytes).
 * @example unknownGateReason('g9', 'expo'); // 'gate "g9" is not a gate of event "expo"'
 */
export function unknownGateReason(gate: string, event: string): string {
  return `gate "${gate}" is not a gate of event "${event}"`;
}

/**
 * The gate named by a close reason from {@link unknownGateReason}, or undefined for any other reason. Only the start
 * is read: the hub cuts a reason at 120 characters, which a gate id (64 at most) and the words before it never reach.
 * @example parseUnknownGateReason('gate "g9" is not a gate of event "expo"'); // 'g9'
 */
export function parseUnknownGateReason(reason: string): string | undefined {
  return /^gate "([^"]+)" is not a gate of event/.exec(reason)?.[1];
}
