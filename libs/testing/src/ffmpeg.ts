import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackage } from './internal/system.js';

/**
 * Resolves when Debian's `ffmpeg` and `ffprobe` are installed (one package), installing it with apt-get (as root)
 * when missing; anyone else gets an error with the command to run. For the media and transcoder integration tests.
 */
export async function ensureFfmpeg(): Promise<void> {
  const logFile = join(tmpdir(), 'kinora-ffmpeg-install.log');
  await ensureDebianPackage({ binary: 'ffmpeg', packages: ['ffmpeg'], logFile });
  await ensureDebianPackage({ binary: 'ffprobe', packages: ['ffmpeg'], logFile });
}
