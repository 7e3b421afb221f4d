export * from './common.schemas.js';
export * from './identity.schemas.js';
