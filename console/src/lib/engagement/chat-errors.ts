/**
 * What an attendee is told when the hub refuses a chat message or question, in plain words. The hub's
 * messages are precise but technical ("you are muted in this event until 2026-05-04T10:15:00.000Z (300 s from now)").
 * @example describeRefusal('forbidden', 'you are muted in this event until 2026-05-04T10:15:00.000Z (300 s from now)', fmt)
 *   // 'You are muted by a moderator until 12:15 (about 5 min). Your message was not sent.'
 */
export function describeRefusal(code: string, message: string, formatTime: (ms: number) => string, what = 'message'): string {
  if (code === 'forbidden') {
    const muted = /muted .*?until (\S+?Z)/.exec(message);
    if (muted?.[1]) {
      const until = Date.parse(muted[1]);
      const seconds = Number(/\((\d+) s from now\)/.exec(message)?.[1] ?? Math.max(0, Math.round((until - Date.now()) / 1000)));
      return `You are muted by a moderator until ${formatTime(until)} (${duration(seconds)}). Your ${what} was not sent.`;
    }
    return `Not allowed: ${message}.`;
  }
  if (code === 'rate_limited') {
    const wait = /try again in (\d+) (ms|s)/.exec(message);
    const seconds = wait ? Math.max(1, Math.ceil(Number(wait[1]) / (wait[2] === 'ms' ? 1000 : 1))) : undefined;
    return `Slow down a little: try again ${seconds === undefined ? 'in a moment' : `in ${duration(seconds)}`}. Your ${what} was not sent.`;
  }
  if (code === 'conflict' && /closed/.test(message)) return `This is closed right now, so your ${what} was not sent.`;
  if (code === 'invalid') return `Not accepted: ${message}.`;
  return message;
}

/** "45 s", "about 5 min", "about 2 h" */
export function duration(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 90 * 60) return `about ${Math.round(seconds / 60)} min`;
  return `about ${Math.round(seconds / 3600)} h`;
}
