/** Rate-limit tiers a route can belong to (the gateway applies them; default `general`). */
export type RateLimitTierName = 'general' | 'auth' | 'upload' | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which rate-limit budget this route spends (`none` for health, metrics and media). */
    rateLimitTier?: RateLimitTierName;
  }
}
