export { ACCESS_TOKEN_AUDIENCE, createServiceApp } from './service-app.js';
export type { ServiceApp, ServiceAppOptions } from './service-app.js';
export { exitWhenPortTaken, runService } from './run.js';
export type { BuildService, BuildServiceWithoutDatabase, RunServiceOptions } from './run.js';
export { createCountersView } from './counters.js';
export { createCache } from './cache.js';
export { openServiceSchema } from './outbox.js';
export type { ServiceSchemaOptions } from './outbox.js';
