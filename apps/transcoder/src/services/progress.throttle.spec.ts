import { describe, expect, it } from '@jest/globals';
import { jobProgress, ProgressThrottle } from './progress.throttle.js';

describe('ProgressThrottle', () => {
  it('reports at most once per interval and only after a change of the minimum delta', () => {
    const t = new ProgressThrottle(2000, 0.05, 0);
    expect(t.offer(0.1, 1000)).toBe(false); // too soon after the start
    expect(t.offer(0.1, 2000)).toBe(true);
    expect(t.offer(0.5, 3000)).toBe(false); // too soon
    expect(t.offer(0.12, 5000)).toBe(false); // too small a change
    expect(t.offer(0.2, 5000)).toBe(true);
    expect(t.offer(0.1, 9000)).toBe(false); // never backwards
    expect(t.offer(0.25, 9000)).toBe(true);
  });

  it('turns a stream of ffmpeg updates (every 0.5 s) into a handful of events', () => {
    const t = new ProgressThrottle(2000, 0.05, 0);
    let reported = 0;
    for (let i = 1; i <= 240; i++) if (t.offer(i / 240, i * 500)) reported++;
    expect(reported).toBeGreaterThan(10);
    expect(reported).toBeLessThanOrEqual(60);
  });
});

describe('jobProgress', () => {
  it('maps stages onto one monotonic scale below 1', () => {
    const values = [jobProgress('download', 0), jobProgress('download', 1), jobProgress('encode', 0.5), jobProgress('encode', 1), jobProgress('upload', 0.5), jobProgress('upload', 1)];
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(values.at(-1)).toBeLessThan(1);
    expect(jobProgress('encode', Number.NaN)).toBe(0.02);
    expect(jobProgress('encode', 7)).toBe(0.9);
  });
});
