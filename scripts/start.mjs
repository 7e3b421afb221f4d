#!/usr/bin/env node
// `npm start`: build what changed (tsc -b is incremental, a no-op when everything is current; the web app is rebuilt
// only when its inputs changed), then run the all-in-one platform in this process so that SIGTERM/SIGINT reach its graceful shutdown directly.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildWeb } from './build-web.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const build = spawnSync(process.execPath, [tsc, '-b', join(root, 'apps/kinora'), join(root, 'apps/web')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('build failed: see the TypeScript errors above');
  process.exit(build.status ?? 1);
}
if (buildWeb().status !== 0) {
  console.error('the web app did not build: see the errors above');
  process.exit(1);
}
await import(pathToFileURL(join(root, 'apps/kinora/dist/main.js')).href);
