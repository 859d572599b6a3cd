// One generation at a time (the model and its KV cache are one), with a bounded line of waiting
// requests: beyond `maxQueue` waiting, a request is refused at once (HTTP 429), never crashing or
// growing the server without bound.

export class QueueFullError extends Error {
  constructor(readonly maxQueue: number) {
    super(`the server is busy: ${maxQueue} request(s) already waiting (--max-queue); try again later`);
    this.name = 'QueueFullError';
  }
}

export interface Ticket {
  /** resolves when this request may run */
  readonly ready: Promise<void>;
  /** frees the slot (running or waiting); idempotent */
  release(): void;
  /** leaves the line if still waiting (never frees a running slot: its generation is not over) */
  withdraw(): void;
}

export class GenerationQueue {
  private running = false;
  private readonly waiting: Array<{ start: () => void; cancelled: boolean }> = [];

  constructor(readonly maxQueue: number) {
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError('maxQueue must be a non-negative integer');
  }

  /** requests waiting (not counting the one running) */
  get depth(): number {
    return this.waiting.filter((w) => !w.cancelled).length;
  }

  get busy(): boolean {
    return this.running;
  }

  /** A ticket, or QueueFullError when `maxQueue` requests already wait. Synchronous. */
  enter(): Ticket {
    let released = false;
    if (!this.running) {
      this.running = true;
      return { ready: Promise.resolve(), release: () => { if (!released) { released = true; this.next(); } }, withdraw: () => {} };
    }
    if (this.depth >= this.maxQueue) throw new QueueFullError(this.maxQueue);
    let start!: () => void;
    const ready = new Promise<void>((resolve) => { start = resolve; });
    const entry = { start, cancelled: false };
    let started = false;
    entry.start = () => { started = true; start(); };
    this.waiting.push(entry);
    return {
      ready,
      release: () => {
        if (released) return;
        released = true;
        if (started) this.next();
        else entry.cancelled = true;
      },
      withdraw: () => {
        if (!started && !released) {
          released = true;
          entry.cancelled = true;
        }
      },
    };
  }

  /** Runs `fn` in its turn (throws QueueFullError at once when the line is full). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const t = this.enter();
    try {
      await t.ready;
      return await fn();
    } finally {
      t.release();
    }
  }

  private next(): void {
    for (;;) {
      const w = this.waiting.shift();
      if (!w) {
        this.running = false;
        return;
      }
      if (!w.cancelled) {
        w.start();
        return;
      }
    }
  }
}
