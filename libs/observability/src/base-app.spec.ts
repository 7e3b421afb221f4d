import { describe, expect, it } from '@jest/globals';
import { Type } from '@sinclair/typebox';
import { createBaseApp } from './base-app.js';
import { createLogger } from './logger.js';

describe('the base app validation', () => {
  it('takes plain UUIDs only: the urn:uuid: form the uuid format of ajv-formats allows is a 400, not a database error', async () => {
    const app = await createBaseApp({ logger: createLogger({ level: 'silent' }), bodyLimitBytes: 1024 });
    app.get('/things/:id', { schema: { params: Type.Object({ id: Type.String({ format: 'uuid' }) }) } }, async (request) => request.params);
    const id = '01a252c7-dffd-7ab8-b576-cc9201baefab';
    expect((await app.inject({ url: `/things/${id}` })).json()).toEqual({ id });
    expect((await app.inject({ url: `/things/${id.toUpperCase()}` })).statusCode).toBe(200);
    for (const bad of [`urn:uuid:${id}`, 'not-a-uuid', `${id}0`]) {
      const res = await app.inject({ url: `/things/${bad}` });
      expect([bad, res.statusCode, res.json().errors]).toEqual([bad, 400, [{ field: '/params/id', message: 'must match format "uuid"' }]]);
    }
    await app.close();
  });
});
