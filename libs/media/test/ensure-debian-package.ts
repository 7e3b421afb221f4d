// Integration tests need real programs from Debian packages (ffmpeg, Chromium). Developer machines usually have
// them; CI machines start without: install them on first use, once per machine (a file lock keeps parallel Jest
// workers from running apt-get twice), and fail with one clear message when that is not possible. Never skip.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DebianTools {
  /** What the message calls the suites that need them: `libs/media integration tests`. */
  neededBy: string;
  /** Executables (names on PATH or absolute paths) that must run with `versionArg` afterwards. */
  tools: string[];
  /** Debian packages that provide them. */
  packages: string[];
  /** Argument that makes each tool print its version and exit 0. Default `-version` (ffmpeg's style). */
  versionArg?: string;
  /** Name of the lock file under `$TMPDIR/kinora-locks`. */
  lockName: string;
}

function runs(tool: string, versionArg: string): boolean {
  return spawnSync(tool, [versionArg], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

const ensured = new Set<string>();

/** Resolves when every tool runs, installing the packages with apt-get (as root) when one is missing. */
export function ensureDebianTools(request: DebianTools): void {
  const versionArg = request.versionArg ?? '-version';
  const key = request.tools.join(' ');
  const present = () => request.tools.every((t) => runs(t, versionArg));
  if (ensured.has(key) || present()) {
    ensured.add(key);
    return;
  }
  const hint = `apt-get update && apt-get install -y --no-install-recommends ${request.packages.join(' ')}`;
  const problems: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) problems.push('not running as root');
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) problems.push('apt-get is not available');
  if (problems.length === 0) {
    const lockDir = join(tmpdir(), 'kinora-locks');
    mkdirSync(lockDir, { recursive: true });
    // flock serialises concurrent installs; the second worker finds the tools installed by the first. Without
    // `apt-get update` first (the package lists are usually current enough), with it when the install fails.
    const check = request.tools.map((t) => `command -v ${t} >/dev/null`).join(' && ');
    const install = `apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends ${request.packages.join(' ')}`;
    const script = `${check} || ${install} || { apt-get -o DPkg::Lock::Timeout=300 update && ${install}; }`;
    const result = spawnSync('flock', [join(lockDir, request.lockName), 'sh', '-c', script], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      encoding: 'utf8',
      timeout: 15 * 60 * 1000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.status !== 0) {
      const tail = `${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim().split('\n').slice(-5).join('\n');
      problems.push(`the installation failed (exit ${result.status}): ${tail}`);
    }
  }
  if (!present()) {
    throw new Error(
      `${request.neededBy} need ${request.tools.join(' and ')}, which are missing and could not be installed ` +
        `(${problems.join('; ') || 'unknown reason'}). Install them with: ${hint}`,
    );
  }
  ensured.add(key);
}
