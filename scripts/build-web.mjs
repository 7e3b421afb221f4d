#!/usr/bin/env node
// Builds the web app (apps/web → apps/web/dist) with Vite when its inputs changed since the last build: a hash of
// its sources, index.html, Vite config and the installed versions of what it bundles is kept in dist/.inputs-hash,
// so `npm start` and `npm test` pay nothing when nothing changed. `--force` always builds.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'apps/web');
const stamp = join(web, 'dist/.inputs-hash');

function walk(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

export function inputsHash() {
  const h = createHash('sha256');
  const inputs = [...walk(join(web, 'src')), join(web, 'index.html'), join(web, 'vite.config.ts'), join(web, 'tsconfig.json')];
  for (const f of inputs) h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  for (const pkg of ['react', 'react-dom', 'hls.js', 'tus-js-client', 'socket.io-client', 'vite']) {
    const file = join(root, 'node_modules', pkg, 'package.json');
    h.update(`${pkg}@${existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : 'missing'}\0`);
  }
  return h.digest('hex');
}

export function buildWeb({ force = false, stdio = 'inherit' } = {}) {
  const hash = inputsHash();
  if (!force && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return { built: false, status: 0 };
  const vite = join(root, 'node_modules/vite/bin/vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: web, stdio });
  if (r.status === 0) writeFileSync(stamp, hash);
  return { built: true, status: r.status ?? 1 };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { status } = buildWeb({ force: process.argv.includes('--force') });
  process.exit(status);
}
