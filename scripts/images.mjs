#!/usr/bin/env node
// `npm run images`: Kinora's container images with podman, without a registry (see the Dockerfile and
// docs/deploy.md, "Container images"). Builds the TypeScript, makes the bases when missing, stages the production
// node_modules, builds `kinora` and `kinora-transcoder` (skipped when an image of the same inputs exists), tags each
// with its local name and the chart's default reference, and prints the names and sizes.
//   npm run images                                    # both, tagged with package.json's version (the chart's appVersion)
//   npm run images -- --only kinora --tag dev         # one image, another tag
//   npm run images -- --force                         # run podman build even when the inputs did not change
//   npm run images -- --json                          # one JSON line per image on stdout (for tools), progress on stderr
//   npm run images -- --only kinora --dev --ref kinora:tilt-1 --kind-load kinora
//                                                     # Tilt: the development variant (tar for live updates), named
//                                                     # as Tilt expects, loaded into the kind cluster `kinora`
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const targets = ['kinora', 'kinora-transcoder'];
const usage = `usage: npm run images -- [--only ${targets.join('|')}|transcoder] [--tag <tag>] [--force] [--json] [--dev] [--ref <name:tag>] [--kind-load <cluster>]`;

let args;
try {
  args = parseArgs({
    options: {
      only: { type: 'string' },
      tag: { type: 'string' },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      dev: { type: 'boolean', default: false },
      ref: { type: 'string' },
      'kind-load': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (err) {
  console.error(`${err.message}\n${usage}`);
  process.exit(2);
}
if (args.help) {
  console.log(usage);
  process.exit(0);
}
const only = args.only === 'transcoder' ? 'kinora-transcoder' : args.only;
if (only !== undefined && !targets.includes(only)) {
  console.error(`--only must be one of ${targets.join(', ')} (or transcoder), not ${JSON.stringify(args.only)}\n${usage}`);
  process.exit(2);
}
if ((args.ref !== undefined || args['kind-load'] !== undefined) && only === undefined) {
  console.error(`--ref and --kind-load name one image: add --only\n${usage}`);
  process.exit(2);
}
if (args.ref !== undefined && !/^[a-z0-9][a-z0-9._\/:-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(args.ref)) {
  console.error(`--ref must be <name>:<tag>, not ${JSON.stringify(args.ref)}\n${usage}`);
  process.exit(2);
}
const say = (msg) => (args.json ? console.error : console.log)(`[images] ${msg}`);

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const build = spawnSync(process.execPath, [tsc, '-b'], { cwd: root, stdio: ['ignore', args.json ? process.stderr : 'inherit', 'inherit'] });
if (build.status !== 0) {
  console.error('[images] build failed: see the TypeScript errors above');
  process.exit(build.status ?? 1);
}
// The web app's bundle ships in the kinora image (the chart's web Deployment serves it): built when its inputs changed.
const web = spawnSync(process.execPath, [join(root, 'scripts/build-web.mjs')], { cwd: root, stdio: ['ignore', args.json ? process.stderr : 'inherit', 'inherit'] });
if (web.status !== 0) {
  console.error('[images] the web app build failed: see above');
  process.exit(web.status ?? 1);
}

const { ensurePodman, buildImages, publishImage } = await import(pathToFileURL(join(root, 'libs/testing/dist/index.js')).href);
const available = await ensurePodman();
if (!available.podman) {
  console.error(`[images] ${available.reason}`);
  process.exit(1);
}
try {
  const started = Date.now();
  const images = await buildImages(available.podman, {
    ...(only ? { targets: [only] } : {}),
    ...(args.tag !== undefined ? { tag: args.tag } : {}),
    force: args.force,
    dev: args.dev,
    onProgress: say,
  });
  if (args.ref !== undefined || args['kind-load'] !== undefined) {
    const image = images[0];
    const source = image.dev ?? image.refs[0];
    const name = await publishImage(available.podman, source, args.ref ?? source, { kindCluster: args['kind-load'], log: say });
    say(`${source} → ${name}${args['kind-load'] ? ` (loaded into kind cluster ${args['kind-load']})` : ''}`);
  }
  for (const image of images) {
    if (args.json) {
      console.log(JSON.stringify({ target: image.target, refs: image.refs, ...(image.dev ? { dev: image.dev } : {}), id: image.id, size: image.size, built: image.built }));
    } else {
      const what = image.built ? `built in ${image.seconds.toFixed(1)} s` : 'up to date';
      say(`${image.refs.join(', ')}: ${(image.size / 1e6).toFixed(0)} MB, ${what}`);
    }
  }
  say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s (podman ${available.podman.version}); load into kind: podman save <name> -o kinora.tar && kind load image-archive kinora.tar`);
} catch (err) {
  console.error(`[images] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
