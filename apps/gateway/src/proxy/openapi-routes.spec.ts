import { describe, expect, it } from '@jest/globals';
import { isIdentityHeader } from './forward.js';
import { routesFromOpenApi, toFastifyPath } from './openapi-routes.js';

describe('routesFromOpenApi', () => {
  it('rebuilds params, query, headers, body and responses, resolving $refs', () => {
    const routes = routesFromOpenApi({
      openapi: '3.1.0',
      paths: {
        '/api/v1/videos/{id}': {
          parameters: [{ $ref: '#/components/parameters/Id' }],
          patch: {
            summary: 'Change a video',
            tags: ['videos'],
            security: [{ bearerAuth: [] }],
            'x-kinora-rate-limit-tier': 'upload',
            parameters: [
              { name: 'dryRun', in: 'query', schema: { type: 'boolean' } },
              { name: 'Tus-Resumable', in: 'header', required: true, schema: { type: 'string' } },
            ],
            requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Patch' } } } },
            responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } }, '204': { description: 'none' } },
          },
        },
      },
      components: {
        parameters: { Id: { name: 'id', in: 'path', required: true, schema: { type: 'string', maxLength: 64 } } },
        schemas: { Patch: { type: 'object', additionalProperties: false, properties: { title: { type: 'string', maxLength: 100 } } } },
      },
    });
    expect(routes).toEqual([
      {
        method: 'PATCH',
        url: '/api/v1/videos/:id',
        tier: 'upload',
        schema: {
          summary: 'Change a video',
          tags: ['videos'],
          security: [{ bearerAuth: [] }],
          'x-kinora-rate-limit-tier': 'upload',
          params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] },
          querystring: { type: 'object', properties: { dryRun: { type: 'boolean' } } },
          headers: { type: 'object', properties: { 'tus-resumable': { type: 'string' } }, required: ['tus-resumable'] },
          body: { type: 'object', additionalProperties: false, properties: { title: { type: 'string', maxLength: 100 } } },
          response: {
            '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
            '204': { description: 'none', type: 'null' },
          },
        },
      },
    ]);
  });

  it('refuses external and dangling refs', () => {
    const doc = (ref: string) => ({ paths: { '/x': { post: { requestBody: { content: { 'application/json': { schema: { $ref: ref } } } } } } } });
    expect(() => routesFromOpenApi(doc('https://evil.example/schema.json'))).toThrow(/external/);
    expect(() => routesFromOpenApi(doc('#/components/schemas/Nope'))).toThrow(/unresolved/);
  });

  it('converts path syntax', () => {
    expect(toFastifyPath('/a/{b}/c/{d}')).toBe('/a/:b/c/:d');
    expect(toFastifyPath('/media/{*}')).toBe('/media/*');
  });
});

describe('isIdentityHeader', () => {
  it('matches identity claims, not ordinary headers', () => {
    for (const h of ['x-kinora-identity', 'X-User-Id', 'x-user', 'x-forwarded-user', 'x-auth-request-user', 'remote-user', 'x-authenticated-userid', 'x-kinora-user-id', 'x-principal']) {
      expect([h, isIdentityHeader(h)]).toEqual([h, true]);
    }
    for (const h of ['authorization', 'content-type', 'x-request-id', 'x-kinora-region', 'user-agent', 'traceparent']) expect([h, isIdentityHeader(h)]).toEqual([h, false]);
  });
});
