// Test data shared by the gateway's cluster-mode tests and the launcher's embedded-mode test: both check that the
// OpenAPI document they serve covers the public contract.

/** Every HTTP operation of the public contract (spec/api.md), path parameters as `{}`. */
export const CONTRACT_OPERATIONS = [
  'GET /.well-known/jwks.json',
  'POST /api/v1/auth/register',
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/refresh',
  'POST /api/v1/auth/logout',
  'GET /api/v1/users/me',
  'PATCH /api/v1/users/me',
  'GET /api/v1/channels/{}',
  'PATCH /api/v1/channels/{}',
  'GET /api/v1/channels/{}/videos',
  'PUT /api/v1/channels/{}/subscription',
  'DELETE /api/v1/channels/{}/subscription',
  'GET /api/v1/users/me/subscriptions',
  'GET /api/v1/users/me/videos',
  'GET /api/v1/feed/subscriptions',
  'POST /api/v1/videos',
  'POST /api/v1/uploads',
  'GET /api/v1/videos/{}',
  'PATCH /api/v1/videos/{}',
  'DELETE /api/v1/videos/{}',
  'GET /api/v1/videos',
  'GET /api/v1/search',
  'PUT /api/v1/videos/{}/rating',
  'GET /api/v1/videos/{}/rating',
  'POST /api/v1/videos/{}/views',
  'GET /api/v1/videos/{}/comments',
  'GET /api/v1/comments/{}/replies',
  'POST /api/v1/videos/{}/comments',
  'PATCH /api/v1/comments/{}',
  'DELETE /api/v1/comments/{}',
  'PUT /api/v1/comments/{}/rating',
  'GET /api/v1/videos/{}/chat',
  'GET /api/v1/notifications',
  'POST /api/v1/notifications/read',
  'GET /api/v1/feed/home',
  'GET /api/v1/videos/{}/related',
  'GET /api/v1/videos/{}/analytics',
] as const;

/** `METHOD /path/{param}` of every operation in an OpenAPI document, parameters normalised to `{}`. */
export function operationsOf(doc: { paths?: Record<string, Record<string, unknown>> }): string[] {
  const methods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
  return Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((m) => methods.has(m))
      .map((m) => `${m.toUpperCase()} ${path.replace(/\{[^}]*\}/g, '{}')}`),
  );
}
