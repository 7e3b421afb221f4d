import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '@kinora/config';
import { Database } from '@kinora/db';
import { RouteTable } from '@kinora/gateway';
import { createLogger } from '@kinora/observability';
import { CONTRACT_OPERATIONS, createTestDatabase, operationsOf, type TestDatabase } from '@kinora/testing';
import { buildKinora } from '../../src/app.js';

// Embedded mode's half of the contract check (the gateway's cluster-mode tests check the other): the one OpenAPI
// document of the all-in-one app lists every contract route, each owned by a service of the route table.
let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase('kinora_contract');
});

afterAll(async () => {
  await tdb?.drop();
});

describe('OpenAPI document', () => {
  it('lists every contract route of the running services in embedded mode', async () => {
    const database = new Database({ primaryUrl: tdb.url });
    const app = await buildKinora(loadConfig({ PUBLIC_URL: 'http://kinora.test' }), { database, logger: createLogger({ level: 'silent' }), scrypt: { N: 1024, r: 8, p: 1 } });
    try {
      const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
      expect(doc.openapi).toBe('3.1.0');
      const table = new RouteTable();
      const ops = operationsOf(doc);
      const owner = (op: string) => table.ownerOf(op.split(' ')[1]!.replace(/\{\}/g, 'x'));
      const present = new Set(ops.map(owner));
      for (const op of CONTRACT_OPERATIONS) {
        expect([op, owner(op)]).toEqual([op, expect.any(String)]);
        if (present.has(owner(op))) expect(ops).toContain(op);
      }
      expect(ops).toContain('POST /api/v1/auth/register');
      expect(doc.paths['/api/v1/auth/register'].post['x-kinora-rate-limit-tier']).toBe('auth');
    } finally {
      await app.close();
      await database.close();
    }
  });
});
