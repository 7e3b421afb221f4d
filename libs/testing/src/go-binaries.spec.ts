import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureHelm, stagingVersion, withBuildLock, wrapperGoMod } from './go-binaries.js';

const temps: string[] = [];
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

const upstream = `module k8s.io/kubernetes

go 1.24.0

require (
	k8s.io/api v0.0.0
	github.com/x/y v1.2.3
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go // a comment
)

replace github.com/x/y => github.com/x/y v1.2.4
`;

describe('wrapperGoMod', () => {
  it('maps each staging module to the staging version and keeps versioned replaces', () => {
    const staging = stagingVersion('v1.34.2');
    const mod = wrapperGoMod(
      {
        module: 'k8s.io/kubernetes',
        version: 'v1.34.2',
        replace: (from, to) => (to.startsWith('./staging/') ? `${from} => ${from} ${staging}` : `${from} => ${to}`),
      },
      upstream,
      'kubernetes',
    );
    expect(mod).toContain('module kinora-testing/kubernetes\n');
    expect(mod).toContain('go 1.24.0\n');
    expect(mod).toContain('require k8s.io/kubernetes v1.34.2\n');
    expect(mod).toContain('\tk8s.io/api => k8s.io/api v0.34.2\n');
    expect(mod).toContain('\tk8s.io/client-go => k8s.io/client-go v0.34.2\n');
    expect(mod).toContain('\tgithub.com/x/y => github.com/x/y v1.2.4\n');
    expect(mod).not.toContain('./staging');
  });

  it('has no replace block for a module without replaces', () => {
    const mod = wrapperGoMod({ module: 'helm.sh/helm/v4', version: 'v4.3.2' }, 'module helm.sh/helm/v4\n\ngo 1.26.0\n', 'helm');
    expect(mod).toContain('go 1.26.0\n');
    expect(mod).not.toContain('replace');
  });

  it('refuses a local replace it has no rule for', () => {
    expect(() => wrapperGoMod({ module: 'example.com/m', version: 'v1.0.0' }, 'module example.com/m\nreplace a/b => ../b\n', 'm')).toThrow(
      /replaces a\/b with a local folder \(\.\.\/b\)/,
    );
  });
});

describe('stagingVersion', () => {
  it('turns v1.X.Y into v0.X.Y and rejects anything else', () => {
    expect(stagingVersion('v1.34.2')).toBe('v0.34.2');
    expect(() => stagingVersion('1.34')).toThrow(/not a Kubernetes release version/);
  });
});

describe('build lock', () => {
  it('takes over a lock whose holder is gone and releases it afterwards', async () => {
    const dir = tempDir('kinora-lock-');
    const lock = join(dir, 'build.lock');
    writeFileSync(lock, '999999999\n'); // no such pid
    const seen = await withBuildLock(lock, 'test', async () => readFileSync(lock, 'utf8').trim());
    expect(seen).toBe(String(process.pid));
    expect(existsSync(lock)).toBe(false);
  });

  it('serialises two holders', async () => {
    const dir = tempDir('kinora-lock-');
    const lock = join(dir, 'build.lock');
    const order: string[] = [];
    const first = withBuildLock(lock, 'first', async () => {
      order.push('first start');
      await new Promise((r) => setTimeout(r, 300));
      order.push('first end');
    });
    await new Promise((r) => setTimeout(r, 20));
    const second = withBuildLock(lock, 'second', async () => {
      order.push('second');
    });
    await Promise.all([first, second]);
    expect(order).toEqual(['first start', 'first end', 'second']);
  });
});

describe('without Go', () => {
  it('says that Go is needed instead of failing obscurely', async () => {
    const saved = { PATH: process.env.PATH, KINORA_CACHE_DIR: process.env.KINORA_CACHE_DIR };
    process.env.PATH = '/nonexistent';
    process.env.KINORA_CACHE_DIR = tempDir('kinora-cache-'); // nothing cached there
    try {
      await expect(ensureHelm()).rejects.toThrow(/built with Go, and `go` is not on PATH: install Go 1\.26 or later/);
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.KINORA_CACHE_DIR === undefined) delete process.env.KINORA_CACHE_DIR;
      else process.env.KINORA_CACHE_DIR = saved.KINORA_CACHE_DIR;
    }
  });
});
