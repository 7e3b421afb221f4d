import { describe, expect, it } from '@jest/globals';
import { defaultTierOf, isIdempotentRead, routeClassOf, RouteTable } from './route-table.js';

describe('RouteTable', () => {
  const table = new RouteTable();
  it.each([
    ['/api/v1/auth/login', 'user'],
    ['/api/v1/users/me', 'user'],
    ['/api/v1/users/me/subscriptions', 'subscription'],
    ['/api/v1/users/me/videos', 'video'],
    ['/api/v1/channels/123', 'user'],
    ['/api/v1/channels/:channelId', 'user'],
    ['/api/v1/channels/123/subscription', 'subscription'],
    ['/api/v1/channels/:channelId/videos', 'video'],
    ['/api/v1/videos', 'video'],
    ['/api/v1/videos?sort=recent', 'video'],
    ['/api/v1/videos/abc', 'video'],
    ['/api/v1/videos/abc/rating', 'like'],
    ['/api/v1/videos/abc/comments', 'comment'],
    ['/api/v1/videos/abc/views', 'analytics'],
    ['/api/v1/videos/abc/related', 'recommendation'],
    ['/api/v1/videos/abc/chat', 'realtime'],
    ['/api/v1/chat/0190-msg', 'realtime'],
    ['/api/v1/comments/c1/replies', 'comment'],
    ['/api/v1/feed/home', 'recommendation'],
    ['/api/v1/feed/subscriptions', 'subscription'],
    ['/api/v1/notifications', 'subscription'],
    ['/api/v1/notifications/read', 'subscription'],
    ['/api/v1/uploads', 'video'],
    ['/api/v1/uploads/u1', 'video'],
    ['/api/v1/search', 'video'],
    ['/.well-known/jwks.json', 'user'],
  ])('%s belongs to %s', (path, owner) => {
    expect(table.ownerOf(path)).toBe(owner);
  });

  it('owns nothing outside the API', () => {
    for (const p of ['/healthz', '/metrics', '/api/v1/openapi.json', '/api/v1/usersx', '/api/v2/videos', '/']) expect(table.ownerOf(p)).toBeUndefined();
  });
});

describe('tiers and classes', () => {
  it('applies the contract defaults', () => {
    expect(defaultTierOf('POST', '/api/v1/auth/login')).toBe('auth');
    expect(defaultTierOf('POST', '/api/v1/auth/register')).toBe('auth');
    expect(defaultTierOf('POST', '/api/v1/auth/refresh')).toBe('auth');
    expect(defaultTierOf('POST', '/api/v1/auth/logout')).toBe('general');
    expect(defaultTierOf('POST', '/api/v1/uploads')).toBe('upload');
    expect(defaultTierOf('PATCH', '/api/v1/uploads/u1')).toBe('none');
    expect(defaultTierOf('GET', '/healthz')).toBe('none');
    expect(defaultTierOf('GET', '/metrics')).toBe('none');
    expect(defaultTierOf('GET', '/api/v1/openapi.json')).toBe('none');
    expect(defaultTierOf('GET', '/media/v1/seg-1.m4s')).toBe('none');
    expect(defaultTierOf('OPTIONS', '/api/v1/videos')).toBe('none');
    expect(defaultTierOf('GET', '/api/v1/videos?x=1')).toBe('general');
  });

  it('classifies timeouts and idempotency', () => {
    expect(routeClassOf('GET', '/api/v1/videos')).toBe('read');
    expect(routeClassOf('POST', '/api/v1/videos')).toBe('write');
    expect(routeClassOf('PATCH', '/api/v1/uploads/u1')).toBe('upload');
    expect(isIdempotentRead('GET')).toBe(true);
    expect(isIdempotentRead('PUT')).toBe(false);
  });
});
