// Integration tests need the real ffmpeg and ffprobe (Debian's package), installed on first use when missing.
import { ensureDebianTools } from './ensure-debian-package.js';

/** Resolves when `ffmpeg` and `ffprobe` are on PATH, installing them with apt-get (as root) when missing. */
export async function ensureFfmpeg(): Promise<void> {
  ensureDebianTools({
    neededBy: 'libs/media integration tests',
    tools: ['ffmpeg', 'ffprobe'],
    packages: ['ffmpeg'],
    lockName: 'ffmpeg-install.lock',
  });
}
