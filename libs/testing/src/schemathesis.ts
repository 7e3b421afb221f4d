import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessError, runCommand } from './internal/process.js';
import { findExecutable } from './internal/system.js';
import { cacheDir } from './internal/workspace.js';

/** The schemathesis release the security suite runs (PyPI; pinned so a new release never changes a run). */
export const SCHEMATHESIS_VERSION = '4.32.5';

/** Python versions schemathesis 4 supports, tried in this order. */
const PYTHONS = ['python3.11', 'python3.12', 'python3.13', 'python3'];

let pending: Promise<string> | undefined;

/**
 * The path of the `schemathesis` command, installed on first use into its own virtual environment
 * `.cache/python/schemathesis-<version>/` with pip (the index pip is configured with; nothing else downloads).
 * A marker file is written last (a venv cannot be moved: its scripts name their folder), so a killed install is
 * never used: the next call starts it again.
 * Needs a Python 3.11+ with the `venv` module; the error says what is missing.
 */
export function ensureSchemathesis(version: string = SCHEMATHESIS_VERSION): Promise<string> {
  pending ??= install(version).catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

async function install(version: string): Promise<string> {
  const base = cacheDir('python');
  const dir = join(base, `schemathesis-${version}`);
  const bin = join(dir, 'bin', 'schemathesis');
  const marker = join(dir, '.kinora-complete');
  if (existsSync(marker)) return bin;
  const python = PYTHONS.map((p) => findExecutable(p)).find((p) => p !== undefined);
  if (!python) throw new HarnessError(`schemathesis needs Python 3.11 or newer with venv (none of ${PYTHONS.join(', ')} is on PATH)`);
  mkdirSync(base, { recursive: true });
  const logFile = join(base, `schemathesis-${version}.install.log`);
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`[@kinora/testing] installing schemathesis ${version} into ${dir} (first run only)…\n`);
  const started = Date.now();
  try {
    await runCommand({ name: 'python -m venv', command: python, args: ['-m', 'venv', dir], logFile, timeoutMs: 120_000 });
    await runCommand({
      name: `pip install schemathesis==${version}`,
      command: join(dir, 'bin', 'pip'),
      args: ['install', '--no-input', '--disable-pip-version-check', `schemathesis==${version}`],
      logFile,
      timeoutMs: 600_000,
    });
    writeFileSync(marker, `${version}\n`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  process.stderr.write(`[@kinora/testing] installed schemathesis ${version} in ${Math.round((Date.now() - started) / 1000)} s\n`);
  return bin;
}
