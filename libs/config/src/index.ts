export { ALL_SERVICES, ConfigError, TRANSCODE_PRESETS, UPSTREAM_SERVICES, loadConfig, loadConfigOrExit, parseRateLimit } from './config.js';
export type { Config, LogLevel, RateLimitFailMode, RateLimitTier, RedisConnection, ServiceName, TranscodePreset, UpstreamPolicyConfig, UpstreamService } from './config.js';
export { deepFreeze, envInt, envList, envString, loadOrExit } from './env.js';
export type { Env } from './env.js';
