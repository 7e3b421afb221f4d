export { buildApp, createVideoModule, migrationsDir } from './app.js';
export type { VideoAppDeps, VideoModule, VideoModuleOptions } from './app.js';
export { videoErrors } from './errors.js';
export { VIDEO_SERVICE_GROUP } from './events/transcoded.consumer.js';
export { zeroStats } from './ports.js';
export type { ChannelDirectory, VideoStatsReader } from './ports.js';
export { httpChannelDirectory } from './services/http-channel.directory.js';
export { MediaSigner } from './services/media.signer.js';
