#!/usr/bin/env node
// Writes the CRDs and the ClusterRole rules of charts/kinora-operator from the TypeScript types, or with --check
// exits 1 naming the files that differ (what the test of stale manifests runs too).
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from './manifests.js';

const chartDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'charts', 'kinora-operator');
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [rel, text] of generatedFiles()) {
  const file = join(chartDir, rel);
  const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  if (current === text) continue;
  if (check) stale.push(rel);
  else {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(`wrote charts/kinora-operator/${rel}`);
  }
}
if (stale.length > 0) {
  console.error(`stale generated files (run npm run generate -w @kinora/kinora-operator): ${stale.join(', ')}`);
  process.exit(1);
}
