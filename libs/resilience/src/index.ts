export { TtlLru } from './ttl-lru.js';
export { StaleCache } from './stale.cache.js';
export type { StaleHit } from './stale.cache.js';
export {
  BREAKER_STATE_VALUE,
  BulkheadFullError,
  CircuitOpenError,
  ROUTE_CLASSES,
  UpstreamPolicy,
  UpstreamTimeoutError,
} from './upstream.policy.js';
export type { BreakerState, BreakerTransition, RouteClass, UpstreamPolicyOptions } from './upstream.policy.js';
