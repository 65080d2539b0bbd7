import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; one logger per hub, children per module (`log.child({ module: 'ws' })`). */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { svc: 'opshub-hub', ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}
