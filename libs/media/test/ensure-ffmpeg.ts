// Integration tests need the real ffmpeg and ffprobe (Debian's package). Developer machines usually have them;
// CI machines start without: install them on first use, once per machine (a file lock keeps parallel Jest workers
// from running apt-get twice), and fail with one clear message when that is not possible.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const INSTALL_HINT = 'apt-get update && apt-get install -y --no-install-recommends ffmpeg';

function has(tool: string): boolean {
  const result = spawnSync(tool, ['-version'], { stdio: 'ignore' });
  return result.status === 0;
}

let ensured = false;

/** Resolves when `ffmpeg` and `ffprobe` are on PATH, installing them with apt-get (as root) when missing. */
export async function ensureFfmpeg(): Promise<void> {
  if (ensured || (has('ffmpeg') && has('ffprobe'))) {
    ensured = true;
    return;
  }
  const problems: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) problems.push('not running as root');
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) problems.push('apt-get is not available');
  if (problems.length === 0) {
    const lockDir = join(tmpdir(), 'kinora-locks');
    mkdirSync(lockDir, { recursive: true });
    // flock serialises concurrent installs; the second worker finds ffmpeg installed by the first.
    const script = `command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { ${INSTALL_HINT}; }`;
    const result = spawnSync('flock', [join(lockDir, 'ffmpeg-install.lock'), 'sh', '-c', script], {
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
  if (!(has('ffmpeg') && has('ffprobe'))) {
    throw new Error(
      `libs/media integration tests need ffmpeg and ffprobe, which are missing and could not be installed ` +
        `(${problems.join('; ') || 'unknown reason'}). Install them with: ${INSTALL_HINT}`,
    );
  }
  ensured = true;
}
