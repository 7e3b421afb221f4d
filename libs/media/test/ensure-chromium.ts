// The playback tests drive Debian's Chromium (it plays H.264/AAC, unlike Playwright's own Chromium builds, and
// comes from the same package source as ffmpeg), installed on first use when missing.
import { ensureDebianTools } from './ensure-debian-package.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Returns the path of Debian's `chromium`, installing the package with apt-get (as root) when missing. */
export async function ensureChromium(): Promise<string> {
  ensureDebianTools({
    neededBy: 'libs/media playback tests',
    tools: [CHROMIUM_PATH],
    packages: ['chromium'],
    versionArg: '--version',
    lockName: 'chromium-install.lock',
  });
  return CHROMIUM_PATH;
}
