import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

/**
 * The repository root: the nearest folder above the working directory whose package.json declares workspaces
 * (Jest and npm scripts run from there). `import.meta` is avoided on purpose: Jest loads the global setup
 * through a CommonJS transform.
 */
export function repoRoot(): string {
  let dir = resolve(process.cwd());
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { workspaces?: unknown }).workspaces) return dir;
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return resolve(process.cwd());
    dir = parent;
  }
}

/** `<repo>/.cache/<name>` (git-ignored), or `$KINORA_CACHE_DIR/<name>`. */
export function cacheDir(name: string): string {
  const base = process.env.KINORA_CACHE_DIR ?? join(repoRoot(), '.cache');
  return join(base, name);
}

/** Resolves the root folder of an installed npm package from the repository root. */
export function packageDir(name: string): string {
  const require = createRequire(join(repoRoot(), 'package.json'));
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch (err) {
    throw new Error(`npm package ${name} is not installed (run \`npm ci\` at the repository root): ${(err as Error).message}`);
  }
  // Walk up from the entry file to the folder holding the package's own package.json.
  let dir = dirname(entry);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === name) return dir;
      } catch {
        // keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the folder of npm package ${name} (entry ${entry})`);
    dir = parent;
  }
}
