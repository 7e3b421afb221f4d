// `npm run keys:rotate` (apps/user/dist/rotate-keys.js) as an operator runs it: against the users database, the new
// key published at once and signing only after the lead time, `--now` for a key that must stop signing now, and a
// clear refusal of anything else.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@kinora/testing';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const CLI = join(root, 'apps/user/dist/rotate-keys.js');
let tdb: TestDatabase;

beforeAll(async () => {
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const build = spawnSync('flock', [join(root, '.cache/gateway-build.lock'), process.execPath, tsc, '-b', join(root, 'apps/user')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build of apps/user failed: ${build.stdout}${build.stderr}${build.error?.message ?? ''}`);
  tdb = await createTestDatabase('user_rotate_cli');
}, 180_000);

afterAll(async () => {
  await tdb?.drop();
});

const run = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: tdb.url, DATABASE_REPLICA_URLS: '', PUBLIC_URL: 'http://kinora.test', LOG_LEVEL: 'warn', ACCESS_TOKEN_TTL_SEC: '600' },
    timeout: 60_000,
  });

const signing = async (): Promise<string[]> => {
  const c = new pg.Client({ connectionString: tdb.url });
  await c.connect();
  try {
    const { rows } = await c.query<{ kid: string }>(`SELECT kid FROM users.signing_keys WHERE active_from <= now() AND (retired_at IS NULL OR retired_at > now())`);
    return rows.map((r) => r.kid);
  } finally {
    await c.end();
  }
};

describe('npm run keys:rotate', () => {
  it('publishes a new key that signs from 11 minutes on, or at once with --now', async () => {
    const t0 = Date.now();
    const first = run();
    expect({ status: first.status, stderr: first.stderr }).toEqual({ status: 0, stderr: '' });
    const m = /^new signing key (\S+), published now, signs from (\S+); published keys: (.+)$/m.exec(first.stdout);
    expect(m).not.toBeNull();
    const [, kid, from, published] = m!;
    expect(new Date(from!).getTime() - t0).toBeGreaterThan(650_000);
    expect(published!.split(', ')).toContain(kid);
    // The key created on first start still signs; the rotated-in one does not yet.
    const before = await signing();
    expect(before).toHaveLength(1);
    expect(before).not.toContain(kid);

    const now = run('--now');
    expect(now.status).toBe(0);
    const n = /^new signing key (\S+), published now, signs from (\S+);/m.exec(now.stdout);
    expect(n).not.toBeNull();
    expect(Math.abs(new Date(n![2]!).getTime() - Date.now())).toBeLessThan(30_000);
    expect(await signing()).toEqual([n![1]]);
  }, 120_000);

  it('refuses an unknown argument before touching the database', () => {
    const r = run('--force');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Unknown argument --force: the only option is --now');
    expect(r.stdout).toBe('');
  });
});
