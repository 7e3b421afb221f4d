#!/usr/bin/env node
// Rewrites the root tsconfig.json references from the projects that exist (every folder under libs/, apps/,
// bench/, operators/ and observability/ with a tsconfig.json), so `tsc -b` builds them all. `--tracked` keeps only projects
// known to git (used before committing while other work is in progress).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const tracked = process.argv.includes('--tracked')
  ? new Set(execFileSync('git', ['ls-files', '*/tsconfig.json'], { encoding: 'utf8' }).split('\n').filter(Boolean))
  : undefined;
const refs = [];
for (const group of ['libs', 'apps', 'operators', 'bench', 'observability']) {
  if (!existsSync(group)) continue;
  for (const dir of readdirSync(group).sort()) {
    const file = join(group, dir, 'tsconfig.json');
    if (!existsSync(file) || (tracked && !tracked.has(file))) continue;
    refs.push({ path: `./${group}/${dir}` });
  }
}
writeFileSync('tsconfig.json', JSON.stringify({ files: [], references: refs }, null, 2) + '\n');
console.log(`tsconfig.json: ${refs.length} project references`);
