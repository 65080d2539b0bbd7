/**
 * The slice of a logger the bus needs. A pino `Logger` fits as is, so the hub passes `log.child({ module: 'bus' })`.
 * @example new RedisBus({ url, log: hubLog.child({ module: 'bus' }) })
 */
export interface BusLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Used when no logger is given: a throwing listener or a lost connection must not go unnoticed. */
export const consoleBusLog: BusLog = Object.freeze({
  info: (fields: object, message: string) => console.info(message, fields),
  warn: (fields: object, message: string) => console.warn(message, fields),
  error: (fields: object, message: string) => console.error(message, fields),
});

/** For tests that provoke errors on purpose. */
export const silentBusLog: BusLog = Object.freeze({ info() {}, warn() {}, error() {} });
