import { describe, expect, it } from '@jest/globals';
import { backoffDelayMs } from './backoff.js';

describe('backoffDelayMs', () => {
  const opts = { initialMs: 100, maxMs: 1000 };

  it('doubles from initialMs per failure and stops at maxMs', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, opts))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('is 0 before any failure and stays finite after very many', () => {
    expect(backoffDelayMs(0, opts)).toBe(0);
    expect(backoffDelayMs(10_000, opts)).toBe(1000);
  });
});
