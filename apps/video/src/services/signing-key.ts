import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SIGNING_KEY_FILE = 'media-signing.key';

/**
 * The media signing key of an embedded installation: read from `<dataDir>/media-signing.key`, or generated there
 * (256 random bits, file mode 600) on first start. Several processes starting at once agree: only one creates the
 * file (`wx`), the others read it.
 */
export async function loadOrCreateSigningKey(dataDir: string): Promise<string> {
  const path = join(dataDir, SIGNING_KEY_FILE);
  const read = async () => (await readFile(path, 'utf8')).trim();
  try {
    const key = await read();
    if (key.length >= 32) return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  try {
    await writeFile(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return read();
    throw err;
  }
}
