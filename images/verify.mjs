// Runs inside the Dockerfile's `assemble` stage, on the tree the images will hold: every package that the shipped
// code imports must be installed in the production node_modules. Catches a dependency that is only a
// devDependency (absent from `npm ci --omit=dev`), or a package the pruning removed, at build time instead of at a
// pod's start. The base image has node and nothing else, hence a Node script.
//   node verify.mjs <app folder>
import { builtinModules } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const app = process.argv[2];
if (!app) {
  console.error('usage: node verify.mjs <app folder>');
  process.exit(2);
}
const builtins = new Set(builtinModules);

function jsFiles(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) jsFiles(path, out);
    else if (/\.[cm]?js$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** The package name of a bare specifier (`@scope/name/sub` → `@scope/name`), or undefined for relative ones. */
function packageOf(spec) {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || spec.startsWith('#')) return undefined;
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtins.has(name) ? undefined : name;
}

/** Node's lookup: node_modules/<name>/package.json in the file's folder and every folder above it. */
function installed(fromFile, name) {
  for (let dir = dirname(fromFile); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', name, 'package.json'))) return true;
    if (dirname(dir) === dir) return false;
  }
}

const missing = new Set();
let files = 0;
for (const group of ['apps', 'libs', 'operators']) {
  if (!existsSync(join(app, group))) continue;
  for (const ws of readdirSync(join(app, group))) {
    // The web app's dist is a browser bundle (Vite resolved and inlined every import; Node never loads it), and its
    // minified text holds import-like strings that are not imports.
    if (group === 'apps' && ws === 'web') continue;
    const dist = join(app, group, ws, 'dist');
    if (!existsSync(dist)) continue;
    for (const file of jsFiles(dist)) {
      files += 1;
      const text = readFileSync(file, 'utf8');
      // Static imports and re-exports (`from 'x'`, `import 'x'`) and dynamic `import('x')`, as tsc writes them.
      for (const m of text.matchAll(/\bimport\s*\(\s*['"]([^'"\s]+)['"]\s*\)|\b(?:from|import)\s+['"]([^'"\s]+)['"]/g)) {
        const name = packageOf(m[1] ?? m[2]);
        if (name && !installed(file, name)) missing.add(`${name} (imported by ${file.slice(app.length + 1)})`);
      }
    }
  }
}
if (missing.size > 0) {
  console.error(`packages imported by the shipped code but not in the production node_modules:\n  ${[...missing].join('\n  ')}`);
  process.exit(1);
}
console.log(`verified the imports of ${files} files`);
