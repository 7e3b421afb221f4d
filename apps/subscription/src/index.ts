export { buildApp, COMMENT_REPLIES_GROUP, createSubscriptionModule, migrationsDir, SCHEMA } from './app.js';
export type { SubscriptionModule, SubscriptionModuleOptions } from './app.js';
export { subscriptionErrors } from './errors.js';
export { httpChannelDirectory, projectionChannelDirectory } from './services/channel.directory.js';
export type { ChannelDirectory, ChannelInfo } from './services/channel.directory.js';
