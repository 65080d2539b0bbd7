/**
 * A reactive "now" that advances once a second, for ages ("12 s ago") that must move without new messages.
 * @example const clock = new Ticker(); $effect(() => () => clock.stop()); ... {ago(gate.lastScan, clock.now)}
 */
export class Ticker {
  now = $state(Date.now());
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(intervalMs = 1000) {
    this.#timer = setInterval(() => (this.now = Date.now()), intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
