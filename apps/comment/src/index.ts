export { buildApp, createCommentModule, migrationsDir, SCHEMA } from './app.js';
export type { CommentModule, CommentModuleOptions } from './app.js';
export { commentErrors } from './errors.js';
export type { AuthorProfiles } from './services/comment.service.js';
export { sanitizeCommentText } from './services/comment.text.js';
