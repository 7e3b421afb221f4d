import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

// Rules of the repository that a compiler does not check: service boundaries, configuration read in one place,
// every coded error documented.
const root = join(new URL('.', import.meta.url).pathname, '..');

function files(dir: string, out: string[] = [], ext = /\.(ts|tsx|mts)$/): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out, ext);
    else if (ext.test(name)) out.push(p);
  }
  return out;
}

// Workspaces read from the folders (nothing to keep in sync when one is added): package name → `apps/x`, `libs/x`
// or `operators/x`.
const workspaces = new Map<string, string>();
for (const group of ['apps', 'libs', 'operators']) {
  for (const dir of readdirSync(join(root, group))) {
    const pkg = join(root, group, dir, 'package.json');
    if (existsSync(pkg)) workspaces.set((JSON.parse(readFileSync(pkg, 'utf8')) as { name: string }).name, `${group}/${dir}`);
  }
}
const sources = ['apps', 'libs', 'operators'].flatMap((d) => files(join(root, d))).filter((f) => f.includes('/src/'));
// Sources and tests (src/, test/, specs beside the code): a boundary that tests may cross is no boundary.
const code = ['apps', 'libs', 'operators'].flatMap((d) => files(join(root, d), [], /\.(ts|tsx|mts|cts|js|mjs|cjs)$/));

/** Every module specifier of a file: static imports and re-exports, dynamic `import()`, `require()`, `jest.mock()`. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]|\b(?:require|jest\.(?:unstable_)?mock)\(\s*['"]([^'"]+)['"]/g)) out.push((m[1] ?? m[2])!);
  return out;
}

/** The workspace (`apps/<name>` or `libs/<name>`) a specifier of `file` points into, or undefined (packages, own files). */
function target(file: string, spec: string): string | undefined {
  const pkg = /^@kinora\/[a-z0-9-]+/.exec(spec);
  if (pkg) return workspaces.get(pkg[0]) ?? `unknown workspace ${pkg[0]}`;
  if (!spec.startsWith('.')) return undefined;
  const rel = relative(root, join(dirname(file), spec)).split(sep);
  return (rel[0] === 'apps' || rel[0] === 'libs') && rel[1] ? `${rel[0]}/${rel[1]}` : undefined;
}

/** Boundary violations in one file (relative path, text): the rules of docs/development.md. */
function boundaryOffences(rel: string, text: string): string[] {
  const [group, owner] = rel.split('/');
  const offences: string[] = [];
  for (const spec of specifiers(text)) {
    const to = target(join(root, rel), spec);
    if (!to || to === `${group}/${owner}`) continue;
    if (to.startsWith('unknown')) offences.push(`${rel} imports ${to} ('${spec}')`);
    // apps/kinora, the launcher, is the one app that mounts the others (in its sources and its tests).
    if (group === 'apps' && to.startsWith('apps/') && owner !== 'kinora') offences.push(`${rel} imports ${to} ('${spec}')`);
    // An operator is its own process: only the launcher's tests run one beside the services (cluster mode end to end).
    if (to.startsWith('operators/') && group !== 'operators' && !(group === 'apps' && owner === 'kinora')) offences.push(`${rel} imports an operator, ${to} ('${spec}')`);
    if (group === 'libs' && to.startsWith('apps/')) offences.push(`${rel}: a lib imports an app, ${to} ('${spec}')`);
    // Operators run beside the platform: they may use libs and contracts, never an app's code.
    if (group === 'operators' && to.startsWith('apps/')) offences.push(`${rel}: an operator imports an app, ${to} ('${spec}')`);
  }
  return offences;
}

describe('repository rules', () => {
  it('an app never imports another app, in its sources or its tests (only apps/kinora, the launcher, mounts them)', () => {
    const offenders = code.flatMap((file) => boundaryOffences(relative(root, file), readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('libs never import apps, in their sources or their tests', () => {
    const offenders = code
      .map((f) => relative(root, f))
      .filter((rel) => rel.startsWith('libs/'))
      .flatMap((rel) => boundaryOffences(rel, readFileSync(join(root, rel), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the boundary rule sees package, relative, dynamic and test imports', () => {
    expect(boundaryOffences('apps/video/test/integration/x.test.ts', "import { buildKinora } from '@kinora/kinora';")).toHaveLength(1);
    expect(boundaryOffences('apps/video/test/integration/x.test.ts', "import type { UserModule } from '@kinora/user';")).toHaveLength(1);
    expect(boundaryOffences('apps/video/test/x.ts', "import { a } from '../../user/src/app.js';")).toHaveLength(1);
    expect(boundaryOffences('apps/video/src/a/b.ts', "export * from '../../../gateway/src/index.js';")).toHaveLength(1);
    expect(boundaryOffences('apps/video/src/a.ts', "const m = await import('@kinora/user/app');")).toHaveLength(1);
    expect(boundaryOffences('libs/db/src/a.ts', "import { x } from '@kinora/video';")).toHaveLength(1);
    expect(boundaryOffences('operators/kinora-operator/src/a.ts', "import { x } from '@kinora/transcoder';")).toHaveLength(1);
    expect(boundaryOffences('operators/kinora-operator/src/a.ts', "import { x } from '@kinora/events';")).toEqual([]);
    expect(boundaryOffences('apps/transcoder/src/a.ts', "import { x } from '@kinora/kinora-operator';")).toHaveLength(1);
    expect(boundaryOffences('libs/events/src/a.ts', "import { x } from '@kinora/kinora-operator';")).toHaveLength(1);
    expect(boundaryOffences('apps/kinora/test/integration/a.test.ts', "import { Operator } from '@kinora/kinora-operator';")).toEqual([]);
    expect(boundaryOffences('libs/db/test/a.test.ts', "import { x } from '../../../apps/video/src/index.js';")).toHaveLength(1);
    // Allowed: the launcher, libs, the app's own files.
    expect(boundaryOffences('apps/kinora/test/integration/a.test.ts', "import { createUserModule } from '@kinora/user';")).toEqual([]);
    expect(boundaryOffences('apps/video/test/a.ts', "import { x } from '@kinora/db';\nimport { y } from '../src/app.js';\nimport { z } from '@kinora/video';")).toEqual([]);
  });

  it('nothing imports the internals of a lib (only its index)', () => {
    const offenders = sources.filter((f) => /from '@kinora\/[a-z-]+\/src\//.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });

  it('reads process.env only in libs/config (and in test tooling)', () => {
    const allowed = [/^libs\/config\/src\//, /^libs\/testing\//, /^apps\/edge\/src\/config\.ts$/, /^operators\/kinora-operator\/src\/config\.ts$/, /\.spec\.ts$/];
    const offenders = sources
      .map((f) => relative(root, f))
      .filter((rel) => !allowed.some((a) => a.test(rel)))
      .filter((rel) =>
        // Passing the environment through to a child process (`...process.env`) is not reading configuration.
        /(?<!\.\.\.)process\.env\b/.test(readFileSync(join(root, rel), 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')),
      );
    expect(offenders).toEqual([]);
  });

  it('documents every coded error in docs/errors.md', () => {
    const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
    const codes = new Set<string>();
    for (const file of sources) {
      const text = readFileSync(file, 'utf8');
      for (const block of text.matchAll(/defineErrors\(\{([\s\S]*?)\}\);/g)) {
        for (const m of block[1]!.matchAll(/^\s*([A-Z][A-Z0-9_]+):\s*\{\s*status:/gm)) codes.add(m[1]!);
      }
    }
    expect(codes.size).toBeGreaterThan(10);
    const missing = [...codes].filter((c) => !new RegExp(`^#+ .*\\b${c}\\b`, 'm').test(doc) || !doc.includes(`<a id="${c.toLowerCase().replace(/_/g, '-')}"></a>`));
    expect(missing).toEqual([]);
  });
});
