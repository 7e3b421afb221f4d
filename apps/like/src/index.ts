export { buildApp, createLikeModule, migrationsDir, SCHEMA } from './app.js';
export type { LikeModule, LikeModuleOptions } from './app.js';
export { likeErrors } from './errors.js';
export { ratingDeltas } from './events/rating.events.js';
