export { accessTokenIssuer, buildApp, createUserModule, migrationsDir } from './app.js';
export type { UserModule, UserModuleOptions } from './app.js';
export { userErrors } from './errors.js';
export type { ChannelStatsReader } from './services/account.service.js';
export type { ScryptParams } from './services/password.hasher.js';
