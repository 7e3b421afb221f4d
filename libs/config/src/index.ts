export { ALL_SERVICES, ConfigError, UPSTREAM_SERVICES, loadConfig, loadConfigOrExit, parseRateLimit } from './config.js';
export type { Config, LogLevel, RateLimitFailMode, RateLimitTier, ServiceName, UpstreamPolicyConfig, UpstreamService } from './config.js';
