export { canSee, checkVideoChanged, isPublished, projectionsMigrationsDir, VideoProjection } from './video.projection.js';
export type { VideoChangeHandler, VideoProjectionOptions, VideoRecord } from './video.projection.js';
export { publishVideoChanged, videoChangedEvent } from './video-changed.js';
export { CountersView, countersViewGroup } from './counters.view.js';
export type { ChannelTotals, CountersLoader, CountersViewOptions } from './counters.view.js';
export { httpCountersLoader } from './counters.http-loader.js';
export type { HttpCountersLoaderOptions } from './counters.http-loader.js';
