import { setMaxListeners } from 'node:events';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  type IPolicy,
  retry,
  TaskCancelledError,
  wrap,
  type CircuitBreakerPolicy,
} from 'cockatiel';

/** Route classes with their own timeout: reads (GET/HEAD), writes, uploads (long request bodies). */
export type RouteClass = 'read' | 'write' | 'upload';
export const ROUTE_CLASSES: readonly RouteClass[] = ['read', 'write', 'upload'];

export type BreakerState = 'closed' | 'open' | 'half_open';

/** Numeric value of a state for a Prometheus gauge: 0 closed, 1 open, 2 half-open. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, open: 1, half_open: 2 };

export interface BreakerTransition {
  upstream: string;
  from: BreakerState;
  to: BreakerState;
  /** Why it opened: the last failure's message (or "result" for a failed response). */
  reason?: string;
}

export interface UpstreamPolicyOptions {
  /** Upstream name, for errors, logs and metrics. */
  name: string;
  /** Per-attempt timeout by route class (ms). */
  timeouts: Readonly<Record<RouteClass, number>>;
  /** Extra attempts for idempotent calls after a retryable failure (0 = none). */
  retries: number;
  /** Consecutive failures that open the breaker. */
  breakerFailures: number;
  /** How long the breaker stays open before one probe may pass (ms). */
  halfOpenAfterMs: number;
  /** Calls in flight at once, and how many more may wait for a slot (bulkhead). */
  maxConcurrency: number;
  maxQueue: number;
  /** Whether a thrown error is the upstream's failure (counts for the breaker). Default: every error. */
  isFailure?: (error: Error) => boolean;
  /** Whether a returned value is a failure (e.g. a 5xx response); it is still returned to the caller. */
  isFailureResult?: (result: unknown) => boolean;
  /** Whether a failure is worth another attempt of an idempotent call. Default: failures that are not timeouts. */
  isRetryable?: (reason: { error: Error } | { result: unknown }) => boolean;
  /** Backoff between attempts: exponential with decorrelated jitter. */
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Called on every breaker transition (log it, update a gauge). */
  onStateChange?: (transition: BreakerTransition) => void;
}

/** The breaker is open: the upstream is not called. `retryAfterSec` tells clients when to try again. */
export class CircuitOpenError extends Error {
  constructor(
    readonly upstream: string,
    readonly retryAfterSec: number,
  ) {
    super(`circuit breaker of ${upstream} is open`);
    this.name = 'CircuitOpenError';
  }
}

/** Every slot of the upstream's bulkhead and its queue is taken. */
export class BulkheadFullError extends Error {
  constructor(readonly upstream: string) {
    super(`too many concurrent calls to ${upstream}`);
    this.name = 'BulkheadFullError';
  }
}

/** One attempt took longer than the route class allows; its AbortSignal was aborted. */
export class UpstreamTimeoutError extends Error {
  constructor(
    readonly upstream: string,
    readonly timeoutMs: number,
  ) {
    super(`${upstream} did not answer within ${timeoutMs} ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

function toState(s: CircuitState): BreakerState {
  switch (s) {
    case CircuitState.Open:
    case CircuitState.Isolated:
      return 'open';
    case CircuitState.HalfOpen:
      return 'half_open';
    default:
      return 'closed';
  }
}

type Call<T> = (context: { signal: AbortSignal }) => Promise<T>;

/** A call in flight, linked into its sweeper's list (no Set: its table reallocated on add/delete churn). */
interface Pending {
  deadline: number;
  expire(): void;
  prev: Pending | null;
  next: Pending | null;
  linked: boolean;
}

/**
 * What a call sees of its deadline: a signal, made on first read. A class on purpose: an object literal with a
 * getter, made per call, is allocated in a way that pins the call's closure context in the old generation, so every
 * request's objects survived young-generation collections until the next full GC (measured: ~1.4 KB per call
 * promoted, scavenges of 6–11 ms at 1,000 requests/s, the gateway's p99).
 */
class CallContext {
  private ctrl: AbortController | undefined;
  private timedOut = false;

  get signal(): AbortSignal {
    if (!this.ctrl) {
      this.ctrl = new AbortController();
      if (this.timedOut) this.ctrl.abort();
    }
    return this.ctrl.signal;
  }

  expire(): void {
    this.timedOut = true;
    this.ctrl?.abort();
  }
}

/**
 * Deadlines of the calls in flight, checked by one unref'd interval instead of a timer per call. A timer per call
 * looks cheap, but when calls finish within the tick that started them (an in-process handler, a cached answer),
 * Node creates and destroys the timer list of that duration every time; that and cockatiel's TimeoutPolicy
 * (an AbortController plus listener bookkeeping per call, ~10 µs) were the largest costs of the policy
 * (docs/performance.md). A deadline fires at most `tickMs` late.
 */
class DeadlineSweeper {
  private head: Pending | null = null;
  private readonly interval: NodeJS.Timeout;

  constructor(readonly tickMs: number) {
    this.interval = setInterval(() => this.sweep(), tickMs);
    this.interval.unref();
  }

  /**
   * Runs `fn` with a deadline: after `ms` the call's signal is aborted and the returned promise rejects with
   * cockatiel's TaskCancelledError, whatever `fn` does later. The AbortController is only made when the call reads
   * its signal (a proxied request does, an in-process handler does not).
   */
  run<T>(ms: number, fn: Call<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const context = new CallContext();
      const entry: Pending = {
        deadline: Date.now() + ms,
        expire: () => {
          context.expire();
          reject(new TaskCancelledError(`Operation timed out after ${ms}ms`));
        },
        prev: null,
        next: null,
        linked: false,
      };
      this.link(entry);
      let running: Promise<T>;
      try {
        running = Promise.resolve(fn(context));
      } catch (err) {
        running = Promise.reject(err as Error);
      }
      running.then(
        (value) => {
          if (this.unlink(entry)) resolve(value);
        },
        (err: unknown) => {
          if (this.unlink(entry)) reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  private link(entry: Pending): void {
    entry.next = this.head;
    if (this.head) this.head.prev = entry;
    this.head = entry;
    entry.linked = true;
  }

  /** Takes a call out of the list; false when it was already out (expired, or finished). */
  private unlink(entry: Pending): boolean {
    if (!entry.linked) return false;
    entry.linked = false;
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    entry.prev = entry.next = null;
    return true;
  }

  private sweep(): void {
    if (this.head === null) return;
    const now = Date.now();
    for (let p: Pending | null = this.head; p !== null; ) {
      const next: Pending | null = p.next;
      if (p.deadline <= now && this.unlink(p)) p.expire();
      p = next;
    }
  }

  dispose(): void {
    clearInterval(this.interval);
  }
}

/**
 * Everything between the gateway and one upstream, built from cockatiel policies:
 * bulkhead → (retry, idempotent calls only) → circuit breaker → timeout per attempt (`DeadlineSweeper`).
 *
 * The breaker opens after `breakerFailures` consecutive failures (thrown failures, timeouts, or results that
 * `isFailureResult` marks), rejects calls at once while open, lets one probe through after `halfOpenAfterMs`
 * (HALF_OPEN) and closes when it succeeds. Timeouts are aggressive: the call's AbortSignal is aborted and the
 * caller gets {@link UpstreamTimeoutError} right away. Timeouts are not retried (a retry would multiply the wait).
 */
export class UpstreamPolicy {
  readonly name: string;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly plain: IPolicy;
  private readonly retrying: IPolicy;
  private readonly deadlines: DeadlineSweeper;
  private current: BreakerState = 'closed';
  private openedAt = 0;
  /**
   * The parent signal of every call: never aborted, but cockatiel derives each call's signal from it, so it holds
   * one listener per call in flight (hence no listener limit).
   */
  private readonly rootSignal = new AbortController().signal;

  constructor(private readonly opts: UpstreamPolicyOptions) {
    this.name = opts.name;
    const isFailure = opts.isFailure ?? (() => true);
    const isFailureResult = opts.isFailureResult ?? (() => false);
    const isRetryable = opts.isRetryable ?? ((r) => !('error' in r && r.error instanceof TaskCancelledError));

    this.breaker = circuitBreaker(
      handleWhen((e) => e instanceof TaskCancelledError || isFailure(e)).orWhenResult(isFailureResult),
      { halfOpenAfter: opts.halfOpenAfterMs, breaker: new ConsecutiveBreaker(opts.breakerFailures) },
    );
    this.breaker.onStateChange((s) => this.transition(toState(s)));

    const shed = bulkhead(opts.maxConcurrency, opts.maxQueue);
    const again = retry(
      handleWhen((e) => !(e instanceof BrokenCircuitError) && isFailure(e) && isRetryable({ error: e })).orWhenResult(
        (r) => isFailureResult(r) && isRetryable({ result: r }),
      ),
      {
        maxAttempts: opts.retries,
        backoff: new ExponentialBackoff({ initialDelay: opts.retryInitialDelayMs ?? 25, maxDelay: opts.retryMaxDelayMs ?? 250 }),
      },
    );
    const shortest = Math.min(opts.timeouts.read, opts.timeouts.write, opts.timeouts.upload);
    this.deadlines = new DeadlineSweeper(Math.max(5, Math.min(50, Math.floor(shortest / 10))));
    this.plain = wrap(shed, this.breaker);
    this.retrying = opts.retries > 0 ? wrap(shed, again, this.breaker) : this.plain;
    setMaxListeners(0, this.rootSignal);
  }

  get state(): BreakerState {
    // cockatiel only moves OPEN → HALF_OPEN when a call arrives; report what the next call will see.
    return this.current;
  }

  /** Seconds until an open breaker lets a probe through (at least 1). */
  retryAfterSec(): number {
    if (this.current !== 'open') return 1;
    return Math.max(1, Math.ceil((this.openedAt + this.opts.halfOpenAfterMs - Date.now()) / 1000));
  }

  /**
   * Runs `fn` under the policies of `cls`. `idempotent` calls (reads) are retried with jittered backoff after a
   * retryable failure. Throws {@link CircuitOpenError}, {@link BulkheadFullError}, {@link UpstreamTimeoutError},
   * or whatever `fn` threw.
   */
  async execute<T>(cls: RouteClass, fn: Call<T>, opts: { idempotent?: boolean } = {}): Promise<T> {
    const policy = opts.idempotent ? this.retrying : this.plain;
    const ms = this.opts.timeouts[cls];
    try {
      return (await policy.execute(() => this.deadlines.run(ms, fn), this.rootSignal)) as T;
    } catch (err) {
      if (err instanceof BrokenCircuitError) throw new CircuitOpenError(this.name, this.retryAfterSec());
      if (err instanceof BulkheadRejectedError) throw new BulkheadFullError(this.name);
      if (err instanceof TaskCancelledError) throw new UpstreamTimeoutError(this.name, this.opts.timeouts[cls]);
      throw err;
    }
  }

  /** Stops the deadline timer (calls still in flight then have no deadline). */
  dispose(): void {
    this.deadlines.dispose();
  }

  private transition(to: BreakerState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    if (to === 'open') this.openedAt = Date.now();
    const last = this.breaker.lastFailure;
    const reason = to === 'open' && last ? ('error' in last ? last.error.message : 'failed result') : undefined;
    this.opts.onStateChange?.({ upstream: this.name, from, to, ...(reason !== undefined ? { reason } : {}) });
  }
}
