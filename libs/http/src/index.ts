export { AppError, commonErrors, defineErrors, problemType, registeredErrorCodes } from './errors.js';
export type { ErrorDefinition, ErrorFactory, FieldError } from './errors.js';
export { clientErrorHandler, frameworkErrorHandler, PROBLEM_CONTENT_TYPE, problemPlugin, toAppError, toFieldErrors } from './problem.plugin.js';
export type { RateLimitTierName } from './route-config.js';
export { decodeCursor, encodeCursor, isUuid } from './page-cursor.js';
export { cacheControlFor, etagMatches, httpCachePlugin, RenderedBodies, weakEtag } from './http-cache.plugin.js';
export type { HeldBody } from './http-cache.plugin.js';
export type { HttpCacheClass, HttpCacheRouteConfig } from './http-cache.plugin.js';
