export { ALL_SERVICES, ConfigError, loadConfig, loadConfigOrExit, parseRateLimit } from './config.js';
export type { Config, LogLevel, RateLimitTier, ServiceName } from './config.js';
