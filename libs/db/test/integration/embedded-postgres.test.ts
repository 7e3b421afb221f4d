import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { cp, chmod, mkdtemp, rm } from 'node:fs/promises';
import { existsSync, lstatSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { embeddedPostgresBinaries, startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/embedded-postgres.js';

// Regression (as root): a checkout or data folder under a 0700 folder (/root, mktemp) is out of reach of the OS user
// postgres that runs the server. Both the binaries and the cluster must then live where it can reach them.
const asRoot = userInfo().uid === 0;
let locked: string;
let root: string;
let server: EmbeddedPostgres | undefined;

beforeAll(async () => {
  locked = await mkdtemp(join(tmpdir(), 'kinora-locked-checkout-')); // mode 0700, like /root
  root = await mkdtemp(join(tmpdir(), 'kinora-reachable-'));
  await chmod(root, 0o755);
});

afterAll(async () => {
  await server?.stop();
  await rm(locked, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
});

(asRoot ? it : it.skip)('copies unreachable binaries and keeps an unreachable cluster in a reachable folder', async () => {
  const original = await embeddedPostgresBinaries();
  const native = join(locked, 'node_modules/native');
  await cp(dirname(dirname(original.postgres)), native, { recursive: true, verbatimSymlinks: true });
  const binaries = { initdb: join(native, 'bin/initdb'), postgres: join(native, 'bin/postgres'), pg_ctl: join(native, 'bin/pg_ctl') };
  const notices: string[] = [];
  const dataDir = join(locked, 'data/postgres');
  server = await startEmbeddedPostgres({ dataDir, binaries, reachableRoot: root, notice: (m) => notices.push(m) });
  expect(notices.some((n) => n.includes(`copied the PostgreSQL binaries to ${root}/pg-bin-`))).toBe(true);
  expect(notices.some((n) => n.includes(`the embedded cluster lives in ${root}/postgres-`))).toBe(true);
  expect(lstatSync(dataDir).isSymbolicLink()).toBe(true);
  expect(server.dataDir.startsWith(`${root}/postgres-`)).toBe(true);
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query('CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');
  await client.end();
  await server.stop();

  // A second start follows the link and reuses both the copied binaries and the cluster.
  notices.length = 0;
  server = await startEmbeddedPostgres({ dataDir, binaries, reachableRoot: root, notice: (m) => notices.push(m) });
  expect(notices).toEqual([]);
  const again = new pg.Client({ connectionString: server.url });
  await again.connect();
  expect((await again.query('SELECT v FROM kept')).rows).toEqual([{ v: 42 }]);
  await again.end();
  expect(existsSync(join(locked, 'data', '.initdb-pw-' + process.pid))).toBe(false);
}, 120_000);
