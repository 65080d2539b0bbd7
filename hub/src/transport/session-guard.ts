import { CloseCode, type Claims } from '@opshub/schema';

/** The longest a timer may wait in Node (about 24.8 days); a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Session {
  readonly claims: Claims;
  readonly end: (code: number, reason: string) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Sessions end with their tokens: every open socket (`/ws` and `/yjs`) is registered here with its claims, closed
 * with 4401 when its token's `exp` passes, and closed at once when a revocation covers it.
 * @example const leave = guard.enter(claims, (code, reason) => ws.end(code, reason)); … leave();
 */
export class SessionGuard {
  readonly #sessions = new Set<Session>();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.#sessions.size;
  }

  /** Registers an open socket; returns the function to call when it closes. */
  enter(claims: Claims, end: (code: number, reason: string) => void): () => void {
    const session: Session = { claims, end, timer: undefined };
    this.#sessions.add(session);
    this.#arm(session);
    return () => {
      clearTimeout(session.timer);
      this.#sessions.delete(session);
    };
  }

  /** Ends every session whose claims match; returns how many. */
  endWhere(match: (claims: Claims) => boolean, reason: string): number {
    let ended = 0;
    for (const session of [...this.#sessions]) {
      if (!match(session.claims)) continue;
      this.#end(session, reason);
      ended++;
    }
    return ended;
  }

  close(): void {
    for (const session of this.#sessions) clearTimeout(session.timer);
    this.#sessions.clear();
  }

  #arm(session: Session): void {
    const { exp } = session.claims;
    if (exp === undefined) return;
    const left = exp * 1000 - this.now();
    if (left <= 0) return this.#end(session, 'token expired');
    session.timer = setTimeout(() => this.#arm(session), Math.min(left, MAX_TIMER_MS));
    session.timer.unref();
  }

  #end(session: Session, reason: string): void {
    clearTimeout(session.timer);
    this.#sessions.delete(session);
    session.end(CloseCode.unauthorized, reason);
  }
}
