// Test kit of the services that keep a video projection (comment, like, subscription). A separate entry point
// (`@kinora/projections/testing`) so that nothing here loads in a running service.
export { TestIssuer } from './test-issuer.js';
export type { TestUser } from './test-issuer.js';
export { loggedEvents, publishVideo, waitForOutbox, waitForProjection } from './harness.js';
