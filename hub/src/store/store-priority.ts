import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Store work that goes ahead of work already waiting: the control room's levers (a gate hold, a zone marked full) and
 * its announcements (an emergency). Why: PGlite has one session, so transactions take turns; during a gate burst the check-ins of thousands
 * of scans queue there, and a hold queued behind them reached the gates late. A transaction started inside
 * {@link urgently} is handed the session before every ordinary one that waits (it still waits for the one running).
 * PostgreSQL has a pool and needs no order; its dialect ignores this.
 */
const urgentWork = new AsyncLocalStorage<true>();

/**
 * Runs `work` with its Store transactions and queries ahead of ordinary ones waiting for the session.
 * @example await urgently(() => directives.setGate(claims, 'expo', 'north', { state: 'hold' }));
 */
export function urgently<T>(work: () => Promise<T>): Promise<T> {
  return urgentWork.run(true, work);
}

/** Whether the caller runs inside {@link urgently}. */
export function isUrgent(): boolean {
  return urgentWork.getStore() === true;
}

/**
 * Runs `work` as ordinary Store work even when called inside {@link urgently}: for lasting work a lever may start
 * (loading a gate doc), which must not keep the lever's place ahead of everyone.
 */
export function ordinarily<T>(work: () => Promise<T>): Promise<T> {
  return urgentWork.exit(work);
}
