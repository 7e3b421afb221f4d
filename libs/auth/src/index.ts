export { authErrors, authPlugin } from './auth.plugin.js';
export type { AuthPluginOptions } from './auth.plugin.js';
export { GATEWAY_IDENTITY_HEADER, signGatewayIdentity, verifyGatewayIdentity } from './gateway-identity.js';
export { ACCEPTED_ALGORITHMS, JWKS_MAX_AGE_MS, JwksCache, KeysUnavailableError } from './jwks.cache.js';
export type { JwksCacheOptions } from './jwks.cache.js';
export { ACCESS_TOKEN_AUDIENCE, TokenError, TokenVerifier } from './token.verifier.js';
export type { TokenFailure, TokenVerifierOptions } from './token.verifier.js';
export { httpJwksFetcher } from './http-jwks.js';
export type { HttpJwksFetcherOptions, JwksRequester } from './http-jwks.js';
