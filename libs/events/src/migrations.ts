import { fileURLToPath } from 'node:url';

/**
 * Absolute path of this lib's SQL migrations (`libs/events/migrations`), for
 * `runMigrations(pool, { schema: 'events', dir: eventsMigrationsDir })` from `@kinora/db`.
 * This module sits at the top of `src/` and of `dist/`, so `../migrations` is the same folder from both.
 */
export const eventsMigrationsDir: string = fileURLToPath(new URL('../migrations', import.meta.url));
