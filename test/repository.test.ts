import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

// Rules of the repository that a compiler does not check: service boundaries, configuration read in one place,
// every coded error documented.
const root = join(new URL('.', import.meta.url).pathname, '..');

function files(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (/\.(ts|tsx|mts)$/.test(name)) out.push(p);
  }
  return out;
}

const apps = readdirSync(join(root, 'apps')).filter((a) => existsSync(join(root, 'apps', a, 'package.json')));
const sources = ['apps', 'libs', 'operators'].flatMap((d) => files(join(root, d))).filter((f) => f.includes('/src/'));

describe('repository rules', () => {
  it('a service never imports another service (only apps/kinora, the launcher, mounts them)', () => {
    const offenders: string[] = [];
    for (const file of sources) {
      const rel = relative(root, file);
      const owner = rel.split('/')[1];
      if (rel.startsWith('apps/kinora/')) continue;
      const text = readFileSync(file, 'utf8');
      for (const app of apps) {
        if (app === owner) continue;
        if (new RegExp(`from '@kinora/${app}(/[^']*)?'`).test(text) || text.includes(`../../${app}/`)) offenders.push(`${rel} imports ${app}`);
      }
      if (rel.startsWith('libs/') && /from '@kinora\/(?!(?:config|contracts|http|observability|db|events|auth|cache|resilience|storage|media|testing|projections|service)\b)/.test(text)) {
        offenders.push(`${rel}: a lib imports an app`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('nothing imports the internals of a lib (only its index)', () => {
    const offenders = sources.filter((f) => /from '@kinora\/[a-z-]+\/src\//.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });

  it('reads process.env only in libs/config (and in test tooling)', () => {
    const allowed = [/^libs\/config\/src\//, /^libs\/testing\//, /^apps\/edge\/src\/config\.ts$/, /\.spec\.ts$/];
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
