export * from './common.schemas.js';
export * from './identity.schemas.js';
export * from './events.schemas.js';
export * from './video.schemas.js';
export * from './social.schemas.js';
export * from './realtime.schemas.js';
export * from './analytics.schemas.js';
export * from './transcodejob.schemas.js';
