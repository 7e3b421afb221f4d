export * from './common.schemas.js';
export * from './identity.schemas.js';
export * from './events.schemas.js';
