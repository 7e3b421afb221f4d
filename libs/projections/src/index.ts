export { canSee, checkVideoChanged, isPublished, projectionsMigrationsDir, VideoProjection } from './video.projection.js';
export type { VideoChangeHandler, VideoProjectionOptions, VideoRecord } from './video.projection.js';
export { publishVideoChanged, videoChangedEvent } from './video-changed.js';
