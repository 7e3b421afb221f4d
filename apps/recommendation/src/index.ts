export { buildApp, createRecommendationModule, ENGAGEMENT_GROUP, migrationsDir, SCHEMA } from './app.js';
export type { RecommendationModule, RecommendationModuleOptions } from './app.js';
export { httpChannelNames, noChannelNames } from './channel.names.js';
export type { ChannelNames } from './channel.names.js';
export { applyEngagement, parseEngagement, TRENDING_HALF_LIFE_SEC } from './engagement.js';
export { recommendationErrors } from './errors.js';
export { httpVideoDetails, moduleVideoDetails } from './video.details.js';
export type { VideoDetails } from './video.details.js';
