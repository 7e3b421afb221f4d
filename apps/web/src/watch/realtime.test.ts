import { describe, expect, it } from 'vitest';
import { handshakeRetryDelay, MAX_HANDSHAKE_RETRIES } from './realtime.js';

const refused = (code: string, retryAfterMs?: number) => ({ data: { code, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) } });

describe('reconnecting after a refused realtime handshake', () => {
  it('retries SERVICE_UNAVAILABLE after its retryAfterMs, longer with each attempt, and gives up after a few', () => {
    expect(handshakeRetryDelay(refused('SERVICE_UNAVAILABLE', 1000), 1)).toBe(1000);
    expect(handshakeRetryDelay(refused('SERVICE_UNAVAILABLE', 1000), 3)).toBe(3000);
    expect(handshakeRetryDelay(refused('SERVICE_UNAVAILABLE', 1000), 7)).toBe(5000);
    expect(handshakeRetryDelay(refused('SERVICE_UNAVAILABLE'), 1)).toBe(1000);
    expect(handshakeRetryDelay(refused('SERVICE_UNAVAILABLE', 0), 1)).toBe(250);
    expect(handshakeRetryDelay(refused('SERVICE_UNAVAILABLE', 1000), MAX_HANDSHAKE_RETRIES + 1)).toBeUndefined();
  });

  it('retries an expired token once at once (with a fresh one), and never an invalid token or an unknown refusal', () => {
    expect(handshakeRetryDelay(refused('TOKEN_EXPIRED'), 1)).toBe(0);
    expect(handshakeRetryDelay(refused('TOKEN_EXPIRED'), 2)).toBeUndefined();
    expect(handshakeRetryDelay(refused('INVALID_TOKEN'), 1)).toBeUndefined();
    expect(handshakeRetryDelay({}, 1)).toBeUndefined();
    expect(handshakeRetryDelay(undefined, 1)).toBeUndefined();
  });
});
