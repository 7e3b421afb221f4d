export { buildKinora } from './app.js';
export type { KinoraDeps } from './app.js';
