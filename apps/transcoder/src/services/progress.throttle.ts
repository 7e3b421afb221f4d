/**
 * Decides which progress values become `TranscodeProgress.v1` events: at most one per `minIntervalMs` and only
 * after the value moved by `minDelta`, never backwards. A 10-minute job reports a few dozen events, not thousands.
 */
export class ProgressThrottle {
  private lastValue = 0;
  private lastAt: number;

  constructor(
    private readonly minIntervalMs = 2000,
    private readonly minDelta = 0.05,
    now: number = Date.now(),
  ) {
    // The start counts as "0 reported now": the first event comes once the job is well under way.
    this.lastAt = now;
  }

  /** True when `value` (0..1) should be reported now; it then becomes the last reported value. */
  offer(value: number, now: number = Date.now()): boolean {
    if (!(value > this.lastValue)) return false;
    if (now - this.lastAt < this.minIntervalMs) return false;
    if (value - this.lastValue < this.minDelta - 1e-9) return false;
    this.lastValue = value;
    this.lastAt = now;
    return true;
  }
}

/**
 * Progress of a whole job from the progress of its stages: download and probe are quick, encoding is most of the
 * work, the upload the rest. Never reaches 1 (the success event says that).
 */
export function jobProgress(stage: 'download' | 'encode' | 'upload', ratio: number): number {
  const r = Math.min(1, Math.max(0, Number.isFinite(ratio) ? ratio : 0));
  const value = stage === 'download' ? 0.02 * r : stage === 'encode' ? 0.02 + 0.88 * r : 0.9 + 0.09 * r;
  return Math.round(value * 1000) / 1000;
}
