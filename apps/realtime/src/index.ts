export { ACCESS_TOKEN_AUDIENCE, buildApp, createRealtimeModule, defaultRealtimeSettings, migrationsDir } from './app.js';
export type { RealtimeAppDeps, RealtimeModule, RealtimeModuleOptions, RealtimeSettings } from './app.js';
export { realtimeErrors } from './errors.js';
export { canSee, zeroCounts } from './ports.js';
export type { CountersFeed, CountsSource, VideoAccessInfo, VideoCounters, VideoLookup } from './ports.js';
export { RealtimeServer } from './socket/realtime.server.js';
export { handedOverWhole, isRealtimeWorker, joinPrimary, routeInPrimary, runPrimary } from './cluster.js';
export type { PrimaryOptions, PrimaryRoutes } from './cluster.js';
