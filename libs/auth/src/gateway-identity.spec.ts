import { describe, expect, it } from '@jest/globals';
import { signGatewayIdentity, verifyGatewayIdentity } from './gateway-identity.js';

const secret = 'k'.repeat(32);
const principal = { userId: 'u-1', username: 'alice', sessionId: 's-1' };
const req = { method: 'GET', url: '/api/v1/users/me?x=1' };

describe('gateway identity', () => {
  it('round-trips a principal for the same request line', () => {
    const h = signGatewayIdentity(secret, principal, req);
    expect(h).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    expect(verifyGatewayIdentity(secret, h, req)).toEqual(principal);
  });

  it('rejects another secret, another route, another method, a changed payload and garbage', () => {
    const h = signGatewayIdentity(secret, principal, req);
    expect(verifyGatewayIdentity('o'.repeat(32), h, req)).toBeNull();
    expect(verifyGatewayIdentity(secret, h, { method: 'GET', url: '/api/v1/users/me' })).toBeNull();
    expect(verifyGatewayIdentity(secret, h, { method: 'PATCH', url: req.url })).toBeNull();
    const [v, , sig] = h.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'admin', name: 'admin', sid: 's', exp: 9e9 })).toString('base64url');
    expect(verifyGatewayIdentity(secret, `${v}.${forged}.${sig}`, req)).toBeNull();
    for (const junk of ['', 'v1', 'v1..', 'v2.a.b', 'x'.repeat(5000), '{"sub":"admin"}']) {
      expect(verifyGatewayIdentity(secret, junk, req)).toBeNull();
    }
  });

  it('expires (with clock tolerance)', () => {
    const h = signGatewayIdentity(secret, principal, req, { ttlSec: 30, nowMs: 1_000_000 });
    expect(verifyGatewayIdentity(secret, h, req, { nowMs: 1_000_000 + 34_000 })).toEqual(principal);
    expect(verifyGatewayIdentity(secret, h, req, { nowMs: 1_000_000 + 36_000 })).toBeNull();
  });
});
