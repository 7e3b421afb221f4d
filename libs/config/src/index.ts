export { ALL_SERVICES, ConfigError, DATABASE_ENTITIES, TRANSCODE_PRESETS, UPSTREAM_SERVICES, loadConfig, loadConfigOrExit, parseRateLimit } from './config.js';
export type { Config, DatabaseConnection, DatabaseEntity, LogLevel, RateLimitFailMode, RateLimitTier, RedisConnection, ServiceName, TranscodePreset, UpstreamPolicyConfig, UpstreamService } from './config.js';
export { deepFreeze, envBool, envInt, envList, envString, loadOrExit } from './env.js';
export type { Env } from './env.js';
