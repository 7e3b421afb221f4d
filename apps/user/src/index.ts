export { accessTokenIssuer, buildApp, createUserModule, migrationsDir } from './app.js';
export type { UserModule, UserModuleOptions } from './app.js';
export { userErrors } from './errors.js';
export type { ChannelStatsReader } from './services/account.service.js';
export type { ScryptParams } from './services/password.hasher.js';
export { ACTIVE_KEY_FILE, KeyDirectory, KeyFileError, readKeyDir, readKeyFile } from './repositories/key-files.repository.js';
export type { FileKey, KeySet } from './repositories/key-files.repository.js';
export { KeysFromFilesError } from './services/token.service.js';
