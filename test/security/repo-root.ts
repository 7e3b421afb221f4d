import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository root (the folder holding apps/ and package.json), found from the working directory. */
export function repoRootForTests(): string {
  let dir = resolve(process.cwd());
  while (!(existsSync(join(dir, 'apps')) && existsSync(join(dir, 'package.json')))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no repository root above ${process.cwd()}`);
    dir = parent;
  }
  return dir;
}
