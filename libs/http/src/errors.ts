/** A problem field error: where (`/body/email`) and what. */
export interface FieldError {
  field: string;
  message: string;
}

export interface ErrorDefinition {
  status: number;
  title: string;
}

/**
 * An error a route may answer with: a stable code from a service's registry, rendered as an RFC 9457 problem.
 * Anything thrown that is not an AppError (or a Fastify client error) becomes a generic 500 without details.
 */
export class AppError extends Error {
  readonly status: number;
  readonly title: string;
  constructor(
    readonly code: string,
    def: ErrorDefinition,
    detail?: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? def.title);
    this.name = 'AppError';
    this.status = def.status;
    this.title = def.title;
  }
}

/** Every code ever defined, so that a code is never reused with another meaning (and docs can be checked). */
const registry = new Map<string, ErrorDefinition>();

export type ErrorFactory = (detail?: string, errors?: FieldError[], headers?: Record<string, string>) => AppError;

/**
 * Declares a service's coded errors: `const errors = defineErrors({ USER_NOT_FOUND: { status: 404, title: '…' } })`,
 * then `throw errors.USER_NOT_FOUND('No user with that id')`.
 */
export function defineErrors<K extends string>(defs: Record<K, ErrorDefinition>): Record<K, ErrorFactory> {
  const out = {} as Record<K, ErrorFactory>;
  for (const code of Object.keys(defs) as K[]) {
    const def = defs[code];
    const known = registry.get(code);
    if (known && (known.status !== def.status || known.title !== def.title)) {
      throw new Error(`error code ${code} is already defined with another meaning`);
    }
    registry.set(code, def);
    out[code] = (detail, errors, headers) => new AppError(code, def, detail, errors, headers);
  }
  return out;
}

/** All registered codes (for documentation checks). */
export function registeredErrorCodes(): ReadonlyMap<string, ErrorDefinition> {
  return registry;
}

/** Errors every service can answer with, produced by the shared handler itself. */
export const commonErrors = defineErrors({
  VALIDATION_FAILED: { status: 400, title: 'Invalid request' },
  MALFORMED_BODY: { status: 400, title: 'Malformed request body' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'Upstream timeout' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  MALFORMED_URL: { status: 400, title: 'Malformed URL' },
  URI_TOO_LONG: { status: 414, title: 'URI too long' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
});

export function problemType(code: string): string {
  return `docs/errors.md#${code.toLowerCase().replace(/_/g, '-')}`;
}
