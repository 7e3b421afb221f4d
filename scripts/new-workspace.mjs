#!/usr/bin/env node
// Creates the skeleton of a workspace: `node scripts/new-workspace.mjs libs/cache "In-process and Redis caches" [dep ...]`
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';

const [dir, description, ...deps] = process.argv.slice(2);
if (!dir || !description) {
  console.error('usage: new-workspace.mjs <libs|apps>/<name> "<description>" [@kinora/dep ...]');
  process.exit(2);
}
const name = `@kinora/${basename(dir)}`;
const isApp = dir.startsWith('apps/');
if (existsSync(join(dir, 'package.json'))) {
  console.error(`${dir} exists`);
  process.exit(1);
}
mkdirSync(join(dir, 'src'), { recursive: true });
const pkg = {
  name,
  version: '0.1.0',
  private: true,
  description,
  type: 'module',
  exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
  scripts: { build: 'tsc -b' },
  dependencies: Object.fromEntries(deps.map((d) => [d, '*'])),
  nx: { tags: [isApp ? 'type:app' : 'type:lib', `scope:${basename(dir)}`] },
};
writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
const tsconfig = {
  extends: '../../tsconfig.base.json',
  compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/tsconfig.tsbuildinfo' },
  include: ['src'],
  exclude: ['src/**/*.spec.ts'],
  references: deps.map((d) => ({ path: `../../${existsSync(`libs/${d.split('/')[1]}`) ? 'libs' : 'apps'}/${d.split('/')[1]}` })),
};
writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2) + '\n');
if (!existsSync(join(dir, 'src/index.ts'))) writeFileSync(join(dir, 'src/index.ts'), 'export {};\n');
const rootTs = JSON.parse(readFileSync('tsconfig.json', 'utf8'));
if (!rootTs.references.some((r) => r.path === `./${dir}`)) rootTs.references.push({ path: `./${dir}` });
writeFileSync('tsconfig.json', JSON.stringify(rootTs, null, 2) + '\n');
console.log(`created ${dir} (${name})`);
