// The image tooling's own failure paths, without podman: the build-time import checker (images/verify.mjs) and the
// command line of `npm run images` (scripts/images.mjs).
import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = join(new URL('.', import.meta.url).pathname, '../..');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A tree shaped like the image's /app, from path → content. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kinora-verify-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
const verify = (app: string) => spawnSync(process.execPath, [join(root, 'images/verify.mjs'), app], { encoding: 'utf8' });

describe('images/verify.mjs', () => {
  const installed = {
    'node_modules/fastify/package.json': '{}',
    'node_modules/@scope/pkg/package.json': '{}',
    'libs/x/node_modules/nested/package.json': '{}',
  };

  test('passes when every imported package is installed (builtins, relative and nested ones included)', () => {
    const app = tree({
      ...installed,
      'apps/a/dist/main.js': "import Fastify from 'fastify';\nimport { x } from '@scope/pkg/sub/path.js';\nimport { y } from './y.js';\nimport { readFile } from 'node:fs';\nimport { join } from 'path';\nconst z = await import('fastify');\nconst b = Buffer.from('text with spaces');\n",
      'libs/x/dist/index.js': "export * from 'nested';\n",
    });
    const r = verify(app);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/verified the imports of 2 files/);
  });

  test('fails naming each package that is imported but not installed, and the file', () => {
    const app = tree({
      ...installed,
      'apps/a/dist/main.js': "import { describe } from '@jest/globals';\n",
      'apps/a/dist/lazy.js': "const m = await import('typescript');\n",
      'libs/y/dist/index.js': "export * from 'nested';\n",
    });
    const r = verify(app);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('@jest/globals (imported by apps/a/dist/main.js)');
    expect(r.stderr).toContain('typescript (imported by apps/a/dist/lazy.js)');
    // Installed under libs/x only: not visible from libs/y.
    expect(r.stderr).toContain('nested (imported by libs/y/dist/index.js)');
  });

  test("skips the web app's browser bundle: import-like text there is no Node import", () => {
    const app = tree({
      ...installed,
      'apps/a/dist/main.js': "import Fastify from 'fastify';\n",
      'apps/web/dist/assets/hls-abc.js': 'const s = `import "${e}"`; export { s as default };\n',
    });
    const r = verify(app);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/verified the imports of 1 files/);
  });

  test('needs the folder to check', () => {
    const r = spawnSync(process.execPath, [join(root, 'images/verify.mjs')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^usage: node verify\.mjs <app folder>/);
  });
});

describe('npm run images (scripts/images.mjs) command line', () => {
  const images = (...args: string[]) => spawnSync(process.execPath, [join(root, 'scripts/images.mjs'), ...args], { encoding: 'utf8', cwd: root });

  test('--help prints the usage', () => {
    const r = images('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run images -- \[--only kinora\|kinora-transcoder\|transcoder\] \[--tag <tag>\] \[--force\] \[--json\]/);
  });

  test('an unknown image or option is refused before anything is built', () => {
    const only = images('--only', 'web');
    expect(only.status).toBe(2);
    expect(only.stderr).toMatch(/--only must be one of kinora, kinora-transcoder \(or transcoder\), not "web"/);
    const option = images('--push');
    expect(option.status).toBe(2);
    expect(option.stderr).toMatch(/Unknown option '--push'/);
  });
});
