export { authErrors, authPlugin } from './auth.plugin.js';
export { ACCEPTED_ALGORITHMS, JwksCache } from './jwks.cache.js';
export type { JwksCacheOptions } from './jwks.cache.js';
export { TokenError, TokenVerifier } from './token.verifier.js';
export type { TokenFailure, TokenVerifierOptions } from './token.verifier.js';
