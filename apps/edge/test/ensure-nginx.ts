import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// The edge tests run the real nginx from Debian's `nginx` package. CI machines start without it: as root this
// installs it (apt-get, at most one `apt-get update`); anyone else gets the command to run.

const PACKAGE = 'nginx';
const INSTALL = `apt-get install -y --no-install-recommends ${PACKAGE}`;

/** Compile-time flags the rendered configuration relies on (gzip, geo, map, upstream hash, limit_* are core). */
const REQUIRED_FLAGS = ['--with-http_ssl_module', '--with-http_realip_module', '--with-http_v2_module', '--with-http_stub_status_module'];
const CORE_MODULES = ['http_gzip', 'http_geo', 'http_map', 'http_upstream_hash', 'http_upstream_least_conn', 'http_limit_req', 'http_limit_conn', 'http_proxy'];

function find(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, 'nginx');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

function apt(args: string[]): { ok: boolean; output: string } {
  const r = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 600_000,
  });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** The pid of a daemon nginx that Debian's postinst may have started (where no policy-rc.d forbids it). */
function systemNginxPid(): number | undefined {
  try {
    const pid = Number(readFileSync('/run/nginx.pid', 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function install(): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error(`nginx is not installed and only root can install it here. Run: sudo ${INSTALL}`);
  }
  const before = systemNginxPid();
  let r = apt(['install', '-y', '--no-install-recommends', PACKAGE]);
  if (!r.ok) {
    const update = apt(['update']);
    if (!update.ok) throw new Error(`apt-get update failed while installing nginx:\n${update.output.slice(-2000)}`);
    r = apt(['install', '-y', '--no-install-recommends', PACKAGE]);
  }
  if (!r.ok) throw new Error(`${INSTALL} failed:\n${r.output.slice(-2000)}`);
  // Installing must not leave a system nginx on port 80 behind: stop the one the package started, if it did.
  const after = systemNginxPid();
  if (after !== undefined && after !== before) process.kill(after, 'SIGQUIT');
}

let cached: string | undefined;

/** Path of a usable nginx binary; installs the Debian package when missing and checks the modules we need. */
export function ensureNginx(): string {
  if (cached) return cached;
  let bin = find();
  if (!bin) {
    install();
    bin = find();
    if (!bin) throw new Error(`${INSTALL} succeeded but nginx is still not on PATH`);
  }
  const v = spawnSync(bin, ['-V'], { encoding: 'utf8' });
  const info = `${v.stdout ?? ''}${v.stderr ?? ''}`;
  if (v.status !== 0) throw new Error(`${bin} -V failed:\n${info}`);
  const missing = [
    ...REQUIRED_FLAGS.filter((f) => !info.includes(f)),
    ...CORE_MODULES.filter((m) => info.includes(`--without-${m}_module`)).map((m) => `${m} (built --without)`),
  ];
  if (missing.length > 0) throw new Error(`${bin} lacks modules the edge needs: ${missing.join(', ')}. Install Debian's "${PACKAGE}" package.`);
  cached = bin;
  return bin;
}
