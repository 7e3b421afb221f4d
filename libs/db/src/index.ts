export { Database } from './database.js';
export type { DatabaseOptions } from './database.js';
export { dbPlugin } from './db.plugin.js';
export { embeddedPostgresBinaries, freePort, startEmbeddedPostgres } from './embedded-postgres.js';
export type { EmbeddedPostgres, EmbeddedPostgresOptions } from './embedded-postgres.js';
export { runMigrations } from './migrations.js';
export type { MigrationLogger } from './migrations.js';
export { openDatabase } from './open-database.js';
