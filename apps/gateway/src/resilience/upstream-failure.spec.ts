import { describe, expect, it } from '@jest/globals';
import { countsAgainstUpstream } from './upstreams.plugin.js';

describe('countsAgainstUpstream (what opens an upstream breaker)', () => {
  it('never counts the client\'s mistakes', () => {
    for (const status of [400, 401, 403, 404, 409, 413, 422, 429]) expect(countsAgainstUpstream(status, {})).toBe(false);
  });

  it('counts 5xx answers, a 503 without Retry-After included', () => {
    for (const status of [500, 502, 504]) expect(countsAgainstUpstream(status, { 'retry-after': '5' })).toBe(true);
    expect(countsAgainstUpstream(503, {})).toBe(true);
    expect(countsAgainstUpstream(503, undefined)).toBe(true);
    expect(countsAgainstUpstream(503, { 'retry-after': '' })).toBe(true);
  });

  it('does not count a 503 with Retry-After: a service refusing on purpose (its database primary is down)', () => {
    expect(countsAgainstUpstream(503, { 'retry-after': '5' })).toBe(false);
    expect(countsAgainstUpstream(503, { 'Retry-After': '5' })).toBe(false);
    expect(countsAgainstUpstream(503, { 'retry-after': ['5'] })).toBe(false);
  });
});
