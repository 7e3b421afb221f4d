import { createHmac, timingSafeEqual } from 'node:crypto';

export type TokenCheck = 'ok' | 'expired' | 'invalid';

export interface MediaSignerOptions {
  /** How long a signed URL stays valid at least (default 6 h). */
  ttlSec?: number;
  /**
   * Expiries are rounded up to a multiple of this (default 1 h), so the URLs handed out within one bucket are
   * identical and caches (browser, CDN) can reuse what they fetched.
   */
  bucketSec?: number;
}

const TOKEN = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/**
 * Signs a path prefix: a token grants `media/<videoId>/…` until its expiry. The token travels in the path
 * (`/media/s/<token>/<videoId>/master.m3u8`) so that the relative URIs inside playlists and MPDs carry it to every
 * segment (docs/adr/0003-signed-media-urls.md).
 */
export class MediaSigner {
  private readonly ttlSec: number;
  private readonly bucketSec: number;

  constructor(
    private readonly key: string | Buffer,
    opts: MediaSignerOptions = {},
  ) {
    this.ttlSec = opts.ttlSec ?? 6 * 3600;
    this.bucketSec = opts.bucketSec ?? 3600;
  }

  token(videoId: string, nowMs = Date.now()): string {
    const exp = Math.ceil((nowMs / 1000 + this.ttlSec) / this.bucketSec) * this.bucketSec;
    return this.tokenFor(videoId, exp);
  }

  /** A token for an explicit expiry (unix seconds). */
  tokenFor(videoId: string, exp: number): string {
    return `${exp}.${this.sign(videoId, exp).toString('base64url')}`;
  }

  verify(token: string, videoId: string, nowMs = Date.now()): TokenCheck {
    const m = TOKEN.exec(token);
    if (!m) return 'invalid';
    const exp = Number(m[1]);
    const given = Buffer.from(m[2]!, 'base64url');
    const expected = this.sign(videoId, exp);
    // Compare the signature before looking at the expiry: an expired token is only "expired" when it is genuine.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    return exp * 1000 < nowMs ? 'expired' : 'ok';
  }

  private sign(videoId: string, exp: number): Buffer {
    return createHmac('sha256', this.key).update(`kinora-media-v1\nmedia/${videoId}/\n${exp}`).digest();
  }
}
