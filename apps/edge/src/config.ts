import { accessSync, constants, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, deepFreeze, envBool as bool, envInt as int, envString as str, loadOrExit, type Env as ConfigEnv } from '@kinora/config';
import { normalizeCidr, parseRegionFile, REGION_NAME, RegionFileError, type RegionRange } from './regions.js';

/** `host:port` of an upstream instance (IPv6 as `[addr]:port`). */
export type UpstreamAddress = string;

/** A `limit_req` zone: `rate` requests per `per` for each client address, `burst` more answered at once. */
export interface RateLimit {
  rate: number;
  per: 's' | 'm';
  burst: number;
}

export type LimitStatus = 429 | 503;

export interface TlsConfig {
  port: number;
  certFile: string;
  keyFile: string;
}

export interface EdgeConfig {
  /** Where nginx.conf, the pid file, temp files and logs go. Absolute. */
  runDir: string;
  /** The nginx executable. */
  nginxBin: string;
  listenHost: string;
  /** Plain HTTP port, or null when only TLS is served. */
  httpPort: number | null;
  /** TLS termination, or null for plain HTTP only. */
  tls: TlsConfig | null;
  /** With TLS on: plain HTTP only redirects (308) to HTTPS. */
  redirectHttp: boolean;
  /** Gateway instances (API, web, media): `least_conn`. */
  gateways: readonly UpstreamAddress[];
  /** socket.io instances: hashed on the client (sticky). */
  realtime: readonly UpstreamAddress[];
  /** Passive health checks: failures within `failTimeoutSec` that take an instance out for `failTimeoutSec`. */
  maxFails: number;
  failTimeoutSec: number;
  limits: {
    /** Everything except media: per client address. null = off. */
    general: RateLimit | null;
    /** `/media/`: per client address. null = off. */
    media: RateLimit | null;
    /** Concurrent requests per client address. null = off. */
    connPerClient: number | null;
    rateStatus: LimitStatus;
    connStatus: LimitStatus;
  };
  /** Largest request body (bytes) outside the upload route. */
  maxBodyBytes: number;
  /**
   * Slow-client timeouts (seconds): the whole request line and headers must arrive within `headerSec` (a trickle of
   * header lines does not extend it: slowloris), and a body may pause at most `bodySec` between two reads.
   */
  clientTimeouts: { headerSec: number; bodySec: number };
  /** Largest request body (bytes) on the tus upload route (streamed, not buffered). */
  uploadMaxBodyBytes: number;
  cache: {
    dir: string;
    maxSizeBytes: number;
    /** How long segments, init segments, thumbnails and captions stay at the edge (seconds). */
    segmentTtlSec: number;
    /** How long HLS/DASH playlists stay at the edge (seconds). */
    playlistTtlSec: number;
  };
  /** Default region (`REGION`) and the client ranges mapped to other regions. */
  region: { default: string; ranges: readonly RegionRange[]; file: string | undefined };
  /** Proxies in front of the edge whose X-Forwarded-For is believed (addresses/CIDRs). */
  trustedProxies: readonly string[];
  workerProcesses: number | 'auto';
  workerConnections: number;
  /**
   * Worker `user[:group]` when nginx starts as root (the group defaults to the user's name, as in nginx);
   * undefined = nginx's default (`nobody`, Debian group `nogroup`).
   */
  workerUser: string | undefined;
  /** The built web app (`EDGE_WEB_ROOT`, a folder with index.html) served from disk at `/`; null = everything proxied. */
  webRoot: string | null;
}

type Env = ConfigEnv;

/** File-system reads the loader needs; injectable for tests. */
export interface ConfigIo {
  readText(path: string): string;
  isReadable(path: string): boolean;
}

const nodeIo: ConfigIo = {
  readText: (path) => readFileSync(path, 'utf8'),
  isReadable: (path) => {
    try {
      accessSync(path, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  },
};

function port(env: Env, name: string, def: number | null): number | null {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (raw === 'off') return null;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) throw new ConfigError(name, 'a port (1-65535) or "off"', raw);
  return Number(raw);
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** nginx sizes: `512`, `64k`, `1m`, `10g` (case-insensitive). */
export function parseSize(name: string, raw: string | undefined, def: string, minBytes = 1): number {
  const value = (raw ?? def).trim().toLowerCase();
  const m = /^(\d+)([kmg]?)$/.exec(value);
  const bytes = m ? Number(m[1]) * SIZE_UNITS[m[2]!]! : NaN;
  if (!m || !Number.isSafeInteger(bytes) || bytes < minBytes) {
    throw new ConfigError(name, `a size like 512k, 1m or 10g (at least ${minBytes} bytes)`, value);
  }
  return bytes;
}

const TIME_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Durations in whole seconds: `10s`, `5m`, `1h`, `30d` (a bare number is seconds). */
export function parseDuration(name: string, raw: string | undefined, def: string): number {
  const value = (raw ?? def).trim();
  const m = /^(\d+)([smhd]?)$/.exec(value);
  const sec = m ? Number(m[1]) * TIME_UNITS[m[2] || 's']! : NaN;
  if (!m || !Number.isSafeInteger(sec) || sec < 1) throw new ConfigError(name, 'a duration like 10s, 5m, 1h or 30d', value);
  return sec;
}

/** `20r/s`, `600r/m` or `off`. */
export function parseRate(name: string, raw: string | undefined, def: string): { rate: number; per: 's' | 'm' } | null {
  const value = (raw ?? def).trim();
  if (value === 'off') return null;
  const m = /^(\d+)r\/(s|m)$/.exec(value);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 1_000_000) throw new ConfigError(name, 'a rate like 20r/s or 600r/m, or "off"', value);
  return { rate: Number(m[1]), per: m[2] as 's' | 'm' };
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A comma list of `host:port` (IPv4, `[IPv6]`, or a DNS name resolved by nginx at start). */
export function parseUpstreams(name: string, raw: string | undefined, def: string): UpstreamAddress[] {
  const value = (raw ?? def).trim();
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const expected = 'a comma list of host:port (IPv6 as [addr]:port)';
  if (items.length === 0) throw new ConfigError(name, expected, value);
  const seen = new Set<string>();
  for (const item of items) {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(item);
    if (!m) throw new ConfigError(name, expected, item);
    const host = m[1]!;
    const p = Number(m[2]);
    const hostOk = host.startsWith('[') ? normalizeCidr(host.slice(1, -1)) !== undefined && host.includes(':') : HOSTNAME.test(host);
    if (!hostOk || p < 1 || p > 65535) throw new ConfigError(name, expected, item);
    if (seen.has(item)) throw new ConfigError(name, `${expected} without duplicates`, item);
    seen.add(item);
  }
  return items;
}

/**
 * Paths are written into nginx.conf inside double quotes; anything that could end the string, start a variable or a
 * new directive is refused rather than escaped.
 */
function path(name: string, raw: string, cwd: string): string {
  if (/["'\\$;{}\s]/.test(raw) || /[\u0000-\u001f]/.test(raw)) {
    throw new ConfigError(name, 'a path without spaces, quotes, "$", ";", "{" or "}"', raw);
  }
  return resolve(cwd, raw);
}

function status(env: Env, name: string): LimitStatus {
  const raw = str(env, name);
  if (raw === undefined) return 429;
  if (raw !== '429' && raw !== '503') throw new ConfigError(name, '429 or 503', raw);
  return Number(raw) as LimitStatus;
}

/**
 * Parses the edge's environment once into a frozen, typed configuration. Throws {@link ConfigError} with one clear
 * line for the first bad variable. Reads the regions file and checks that the TLS files are readable. Relative paths
 * are resolved against `cwd`: by default the folder npm was started from (`INIT_CWD`, as `npm run -w` runs scripts
 * inside the workspace), else the current one.
 */
export function loadEdgeConfig(
  env: Env = process.env,
  cwd: string = str(env, 'INIT_CWD') ?? process.cwd(),
  io: ConfigIo = nodeIo,
): Readonly<EdgeConfig> {
  const dataDir = path('KINORA_DATA_DIR', str(env, 'KINORA_DATA_DIR') ?? '.kinora', cwd);
  const runDir = path('EDGE_RUN_DIR', str(env, 'EDGE_RUN_DIR') ?? resolve(dataDir, 'edge'), cwd);
  const nginxBin = str(env, 'NGINX_BIN') ?? 'nginx';

  const listenHost = str(env, 'EDGE_LISTEN_HOST') ?? '0.0.0.0';
  if (listenHost.includes('/') || !normalizeCidr(listenHost)) {
    throw new ConfigError('EDGE_LISTEN_HOST', 'an IPv4 or IPv6 address (0.0.0.0 for all)', listenHost);
  }

  const certRaw = str(env, 'EDGE_TLS_CERT');
  const keyRaw = str(env, 'EDGE_TLS_KEY');
  if ((certRaw === undefined) !== (keyRaw === undefined)) {
    throw new ConfigError(certRaw === undefined ? 'EDGE_TLS_CERT' : 'EDGE_TLS_KEY', 'set together with the other of EDGE_TLS_CERT/EDGE_TLS_KEY', undefined);
  }
  let tls: TlsConfig | null = null;
  if (certRaw !== undefined && keyRaw !== undefined) {
    const certFile = path('EDGE_TLS_CERT', certRaw, cwd);
    const keyFile = path('EDGE_TLS_KEY', keyRaw, cwd);
    if (!io.isReadable(certFile)) throw new ConfigError('EDGE_TLS_CERT', 'a readable PEM certificate file', certFile);
    if (!io.isReadable(keyFile)) throw new ConfigError('EDGE_TLS_KEY', 'a readable PEM private key file', keyFile);
    const httpsPort = port(env, 'EDGE_HTTPS_PORT', 8443);
    if (httpsPort === null) throw new ConfigError('EDGE_HTTPS_PORT', 'a port when EDGE_TLS_CERT is set', 'off');
    tls = { port: httpsPort, certFile, keyFile };
  }
  const httpPort = port(env, 'EDGE_HTTP_PORT', 8000);
  if (httpPort === null && tls === null) throw new ConfigError('EDGE_HTTP_PORT', 'a port unless EDGE_TLS_CERT/EDGE_TLS_KEY are set', 'off');
  if (tls && httpPort === tls.port) throw new ConfigError('EDGE_HTTPS_PORT', 'different from EDGE_HTTP_PORT', String(tls.port));
  const redirectHttp = bool(env, 'EDGE_HTTP_REDIRECT', false);
  if (redirectHttp && tls === null) throw new ConfigError('EDGE_HTTP_REDIRECT', 'false unless EDGE_TLS_CERT/EDGE_TLS_KEY are set', 'true');

  const gateways = parseUpstreams('EDGE_UPSTREAMS', str(env, 'EDGE_UPSTREAMS'), '127.0.0.1:8080');
  const realtime = str(env, 'EDGE_REALTIME_UPSTREAMS') === undefined ? gateways : parseUpstreams('EDGE_REALTIME_UPSTREAMS', str(env, 'EDGE_REALTIME_UPSTREAMS'), '');

  const general = parseRate('EDGE_RATE_LIMIT', str(env, 'EDGE_RATE_LIMIT'), '20r/s');
  const media = parseRate('EDGE_MEDIA_RATE_LIMIT', str(env, 'EDGE_MEDIA_RATE_LIMIT'), '100r/s');
  const connRaw = str(env, 'EDGE_CONN_LIMIT');
  const connPerClient = connRaw === 'off' ? null : int(env, 'EDGE_CONN_LIMIT', 100, 1, 1_000_000);

  const regionDefault = str(env, 'REGION') ?? 'local';
  if (!REGION_NAME.test(regionDefault)) throw new ConfigError('REGION', 'lower-case letters, digits and dashes', regionDefault);
  const regionsRaw = str(env, 'EDGE_REGIONS_FILE');
  let ranges: RegionRange[] = [];
  let regionsFile: string | undefined;
  if (regionsRaw !== undefined) {
    regionsFile = resolve(cwd, regionsRaw);
    let text: string;
    try {
      text = io.readText(regionsFile);
    } catch {
      throw new ConfigError('EDGE_REGIONS_FILE', 'a readable file', regionsFile);
    }
    try {
      ranges = parseRegionFile(text);
    } catch (err) {
      if (err instanceof RegionFileError) {
        throw new ConfigError('EDGE_REGIONS_FILE', `lines of "<address>[/<bits>] <region>" (${regionsFile} ${err.message})`, err.text);
      }
      throw err;
    }
  }

  const trustedProxies: string[] = [];
  for (const p of (str(env, 'EDGE_TRUSTED_PROXIES') ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const cidr = normalizeCidr(p);
    if (!cidr) throw new ConfigError('EDGE_TRUSTED_PROXIES', 'a comma list of IP addresses or CIDR ranges', p);
    trustedProxies.push(cidr);
  }

  const workersRaw = str(env, 'EDGE_WORKER_PROCESSES');
  const workerProcesses = workersRaw === undefined || workersRaw === 'auto' ? 'auto' : int(env, 'EDGE_WORKER_PROCESSES', 1, 1, 256);
  const workerUser = str(env, 'EDGE_WORKER_USER');
  if (workerUser !== undefined && !/^[a-z_][a-z0-9_-]{0,31}(:[a-z_][a-z0-9_-]{0,31})?$/.test(workerUser)) {
    throw new ConfigError('EDGE_WORKER_USER', 'a user name, optionally with its group (www-data:www-data)', workerUser);
  }

  const config: EdgeConfig = {
    runDir,
    nginxBin,
    listenHost,
    httpPort,
    tls,
    redirectHttp,
    gateways,
    realtime,
    maxFails: int(env, 'EDGE_MAX_FAILS', 3, 0, 100),
    failTimeoutSec: parseDuration('EDGE_FAIL_TIMEOUT', str(env, 'EDGE_FAIL_TIMEOUT'), '10s'),
    limits: {
      general: general && { ...general, burst: int(env, 'EDGE_RATE_BURST', 40, 0, 1_000_000) },
      media: media && { ...media, burst: int(env, 'EDGE_MEDIA_RATE_BURST', 200, 0, 1_000_000) },
      connPerClient,
      rateStatus: status(env, 'EDGE_RATE_LIMIT_STATUS'),
      connStatus: status(env, 'EDGE_CONN_LIMIT_STATUS'),
    },
    maxBodyBytes: parseSize('EDGE_MAX_BODY_SIZE', str(env, 'EDGE_MAX_BODY_SIZE'), '1m', 1024),
    uploadMaxBodyBytes: parseSize('EDGE_UPLOAD_MAX_BODY_SIZE', str(env, 'EDGE_UPLOAD_MAX_BODY_SIZE'), '8g', 1024),
    clientTimeouts: {
      headerSec: parseDuration('EDGE_CLIENT_HEADER_TIMEOUT', str(env, 'EDGE_CLIENT_HEADER_TIMEOUT'), '15s'),
      bodySec: parseDuration('EDGE_CLIENT_BODY_TIMEOUT', str(env, 'EDGE_CLIENT_BODY_TIMEOUT'), '30s'),
    },
    cache: {
      dir: path('EDGE_CACHE_DIR', str(env, 'EDGE_CACHE_DIR') ?? resolve(runDir, 'cache'), cwd),
      maxSizeBytes: parseSize('EDGE_CACHE_MAX_SIZE', str(env, 'EDGE_CACHE_MAX_SIZE'), '10g', 1024 * 1024),
      segmentTtlSec: parseDuration('EDGE_CACHE_SEGMENT_TTL', str(env, 'EDGE_CACHE_SEGMENT_TTL'), '30d'),
      playlistTtlSec: parseDuration('EDGE_CACHE_PLAYLIST_TTL', str(env, 'EDGE_CACHE_PLAYLIST_TTL'), '10s'),
    },
    region: { default: regionDefault, ranges, file: regionsFile },
    trustedProxies,
    workerProcesses,
    workerConnections: int(env, 'EDGE_WORKER_CONNECTIONS', 4096, 64, 1_000_000),
    workerUser,
    webRoot: webRootOf(env, io, cwd),
  };
  return deepFreeze(config);
}

function webRootOf(env: Env, io: ConfigIo, cwd: string): string | null {
  const raw = str(env, 'EDGE_WEB_ROOT');
  if (raw === undefined || raw === 'off') return null;
  const dir = resolve(cwd, raw);
  if (!io.isReadable(join(dir, 'index.html'))) throw new ConfigError('EDGE_WEB_ROOT', 'a folder with the built web app (index.html)', dir);
  return dir;
}

/** For entry points: parse, or print the one-line reason and exit 1. */
export function loadEdgeConfigOrExit(env: Env = process.env): Readonly<EdgeConfig> {
  return loadOrExit(() => loadEdgeConfig(env));
}
