/**
 * Collects work and runs it once per animation frame, so fifty check-ins a second become at most one DOM update per
 * frame. A hidden tab gets no animation frames at all; a timer stands in so its state is current when it returns.
 * @example const batch = new FrameBatcher(() => flushQueues()); socket.onmessage = () => { queue(...); batch.request(); };
 */
export class FrameBatcher {
  #frame: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly run: () => void,
    private readonly fallbackMs = 250,
    private readonly host: FrameHost = globalThis as unknown as FrameHost,
  ) {}

  /** Runs `run` on the next animation frame (or after `fallbackMs`, whichever comes first). Idempotent until then. */
  request(): void {
    if (this.#frame !== undefined || this.#timer !== undefined) return;
    if (typeof this.host.requestAnimationFrame === 'function') this.#frame = this.host.requestAnimationFrame(() => this.flush());
    this.#timer = setTimeout(() => this.flush(), this.fallbackMs);
  }

  /** Runs pending work now (before handling a frame that must come after it, e.g. a `reset`). */
  flush(): void {
    this.cancel();
    this.run();
  }

  cancel(): void {
    if (this.#frame !== undefined) this.host.cancelAnimationFrame?.(this.#frame);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#frame = undefined;
    this.#timer = undefined;
  }
}

export interface FrameHost {
  requestAnimationFrame?(callback: () => void): number;
  cancelAnimationFrame?(handle: number): void;
}
