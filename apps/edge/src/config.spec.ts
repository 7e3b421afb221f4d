import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@kinora/config';
import { loadEdgeConfig, parseDuration, parseRate, parseSize, parseUpstreams, type ConfigIo } from './config.js';

const files: Record<string, string> = {
  '/etc/kinora/regions.conf': '10.1.0.0/16 eu-west\n10.2.0.0/16 us-east\n',
  '/etc/kinora/bad-regions.conf': '10.1.0.0/16 eu-west\n10.2.0.0/99 us-east\n',
  '/etc/tls/edge.crt': 'cert',
  '/etc/tls/edge.key': 'key',
};
const io: ConfigIo = {
  readText: (p) => {
    const t = files[p];
    if (t === undefined) throw new Error('ENOENT');
    return t;
  },
  isReadable: (p) => p in files,
};
const load = (env: Record<string, string>) => loadEdgeConfig(env, '/srv', io);

function configError(env: Record<string, string>): ConfigError {
  try {
    load(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('loadEdgeConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = load({});
    expect(c.runDir).toBe('/srv/.kinora/edge');
    expect(c.nginxBin).toBe('nginx');
    expect(c.listenHost).toBe('0.0.0.0');
    expect(c.httpPort).toBe(8000);
    expect(c.tls).toBeNull();
    expect(c.redirectHttp).toBe(false);
    expect(c.gateways).toEqual(['127.0.0.1:8080']);
    expect(c.realtime).toEqual(['127.0.0.1:8080']);
    expect(c.maxFails).toBe(3);
    expect(c.failTimeoutSec).toBe(10);
    expect(c.limits).toEqual({
      general: { rate: 20, per: 's', burst: 40 },
      media: { rate: 100, per: 's', burst: 200 },
      connPerClient: 100,
      rateStatus: 429,
      connStatus: 429,
    });
    expect(c.maxBodyBytes).toBe(1024 * 1024);
    expect(c.uploadMaxBodyBytes).toBe(8 * 1024 ** 3);
    expect(c.clientTimeouts).toEqual({ headerSec: 15, bodySec: 30 });
    expect(c.cache).toEqual({ dir: '/srv/.kinora/edge/cache', maxSizeBytes: 10 * 1024 ** 3, segmentTtlSec: 30 * 86_400, playlistTtlSec: 10 });
    expect(c.region).toEqual({ default: 'local', ranges: [], file: undefined });
    expect(c.trustedProxies).toEqual([]);
    expect(c.workerProcesses).toBe('auto');
    expect(c.workerConnections).toBe(4096);
    expect(c.workerUser).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.limits)).toBe(true);
    expect(Object.isFrozen(c.gateways)).toBe(true);
  });

  it('reads every variable', () => {
    const c = load({
      KINORA_DATA_DIR: '/data',
      EDGE_UPSTREAMS: '10.0.0.1:8080, 10.0.0.2:8080,[fd00::3]:8080,gw-3.internal:9000',
      EDGE_REALTIME_UPSTREAMS: '10.0.0.9:8081',
      EDGE_LISTEN_HOST: '::',
      EDGE_HTTP_PORT: '80',
      EDGE_HTTPS_PORT: '443',
      EDGE_TLS_CERT: '/etc/tls/edge.crt',
      EDGE_TLS_KEY: '/etc/tls/edge.key',
      EDGE_HTTP_REDIRECT: 'true',
      EDGE_CACHE_DIR: 'cache',
      EDGE_CACHE_MAX_SIZE: '500m',
      EDGE_CACHE_SEGMENT_TTL: '7d',
      EDGE_CACHE_PLAYLIST_TTL: '2s',
      EDGE_RATE_LIMIT: '600r/m',
      EDGE_RATE_BURST: '0',
      EDGE_MEDIA_RATE_LIMIT: 'off',
      EDGE_CONN_LIMIT: 'off',
      EDGE_RATE_LIMIT_STATUS: '503',
      EDGE_CONN_LIMIT_STATUS: '503',
      EDGE_MAX_BODY_SIZE: '2m',
      EDGE_UPLOAD_MAX_BODY_SIZE: '1g',
      EDGE_MAX_FAILS: '0',
      EDGE_FAIL_TIMEOUT: '1m',
      EDGE_REGIONS_FILE: '/etc/kinora/regions.conf',
      REGION: 'eu-central',
      EDGE_TRUSTED_PROXIES: '10.0.0.0/8,192.0.2.1',
      EDGE_WORKER_PROCESSES: '2',
      EDGE_WORKER_CONNECTIONS: '1024',
      EDGE_WORKER_USER: 'www-data',
      NGINX_BIN: '/opt/nginx/sbin/nginx',
    });
    expect(c.runDir).toBe('/data/edge');
    expect(c.gateways).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '[fd00::3]:8080', 'gw-3.internal:9000']);
    expect(c.realtime).toEqual(['10.0.0.9:8081']);
    expect(c.listenHost).toBe('::');
    expect(c.httpPort).toBe(80);
    expect(c.tls).toEqual({ port: 443, certFile: '/etc/tls/edge.crt', keyFile: '/etc/tls/edge.key' });
    expect(c.redirectHttp).toBe(true);
    expect(c.cache).toEqual({ dir: '/srv/cache', maxSizeBytes: 500 * 1024 ** 2, segmentTtlSec: 7 * 86_400, playlistTtlSec: 2 });
    expect(c.limits).toEqual({ general: { rate: 600, per: 'm', burst: 0 }, media: null, connPerClient: null, rateStatus: 503, connStatus: 503 });
    expect(c.maxBodyBytes).toBe(2 * 1024 ** 2);
    expect(c.uploadMaxBodyBytes).toBe(1024 ** 3);
    expect(c.maxFails).toBe(0);
    expect(c.failTimeoutSec).toBe(60);
    expect(c.region).toEqual({
      default: 'eu-central',
      file: '/etc/kinora/regions.conf',
      ranges: [
        { cidr: '10.1.0.0/16', region: 'eu-west' },
        { cidr: '10.2.0.0/16', region: 'us-east' },
      ],
    });
    expect(c.trustedProxies).toEqual(['10.0.0.0/8', '192.0.2.1/32']);
    expect(c.workerProcesses).toBe(2);
    expect(c.workerConnections).toBe(1024);
    expect(c.workerUser).toBe('www-data');
    expect(c.nginxBin).toBe('/opt/nginx/sbin/nginx');
  });

  it.each([
    [{ EDGE_UPSTREAMS: '10.0.0.1' }, 'EDGE_UPSTREAMS'],
    [{ EDGE_UPSTREAMS: '10.0.0.1:8080;include x' }, 'EDGE_UPSTREAMS'],
    [{ EDGE_UPSTREAMS: 'a:1,a:1' }, 'EDGE_UPSTREAMS'],
    [{ EDGE_UPSTREAMS: ' , ' }, 'EDGE_UPSTREAMS'],
    [{ EDGE_UPSTREAMS: 'gw:70000' }, 'EDGE_UPSTREAMS'],
    [{ EDGE_REALTIME_UPSTREAMS: 'x y:80' }, 'EDGE_REALTIME_UPSTREAMS'],
    [{ EDGE_HTTP_PORT: '0' }, 'EDGE_HTTP_PORT'],
    [{ EDGE_HTTP_PORT: 'off' }, 'EDGE_HTTP_PORT'],
    [{ EDGE_LISTEN_HOST: 'localhost' }, 'EDGE_LISTEN_HOST'],
    [{ EDGE_TLS_CERT: '/etc/tls/edge.crt' }, 'EDGE_TLS_KEY'],
    [{ EDGE_TLS_KEY: '/etc/tls/edge.key' }, 'EDGE_TLS_CERT'],
    [{ EDGE_TLS_CERT: '/etc/tls/missing.crt', EDGE_TLS_KEY: '/etc/tls/edge.key' }, 'EDGE_TLS_CERT'],
    [{ EDGE_TLS_CERT: '/etc/tls/edge.crt', EDGE_TLS_KEY: '/etc/tls/edge.key', EDGE_HTTPS_PORT: '8000' }, 'EDGE_HTTPS_PORT'],
    [{ EDGE_TLS_CERT: '/etc/tls/edge.crt', EDGE_TLS_KEY: '/etc/tls/edge.key', EDGE_HTTPS_PORT: 'off' }, 'EDGE_HTTPS_PORT'],
    [{ EDGE_TLS_CERT: '/etc/tls/$host.crt', EDGE_TLS_KEY: '/etc/tls/edge.key' }, 'EDGE_TLS_CERT'],
    [{ EDGE_HTTP_REDIRECT: 'true' }, 'EDGE_HTTP_REDIRECT'],
    [{ EDGE_HTTP_REDIRECT: 'maybe' }, 'EDGE_HTTP_REDIRECT'],
    [{ EDGE_RUN_DIR: '/tmp/a b' }, 'EDGE_RUN_DIR'],
    [{ EDGE_CACHE_DIR: '/tmp/x";' }, 'EDGE_CACHE_DIR'],
    [{ EDGE_CACHE_MAX_SIZE: '10 GB' }, 'EDGE_CACHE_MAX_SIZE'],
    [{ EDGE_CACHE_SEGMENT_TTL: '30 days' }, 'EDGE_CACHE_SEGMENT_TTL'],
    [{ EDGE_CACHE_PLAYLIST_TTL: '0s' }, 'EDGE_CACHE_PLAYLIST_TTL'],
    [{ EDGE_RATE_LIMIT: '20/s' }, 'EDGE_RATE_LIMIT'],
    [{ EDGE_RATE_LIMIT: '0r/s' }, 'EDGE_RATE_LIMIT'],
    [{ EDGE_RATE_BURST: '-1' }, 'EDGE_RATE_BURST'],
    [{ EDGE_MEDIA_RATE_LIMIT: '5r/h' }, 'EDGE_MEDIA_RATE_LIMIT'],
    [{ EDGE_CONN_LIMIT: '0' }, 'EDGE_CONN_LIMIT'],
    [{ EDGE_RATE_LIMIT_STATUS: '418' }, 'EDGE_RATE_LIMIT_STATUS'],
    [{ EDGE_CONN_LIMIT_STATUS: '500' }, 'EDGE_CONN_LIMIT_STATUS'],
    [{ EDGE_MAX_BODY_SIZE: '10' }, 'EDGE_MAX_BODY_SIZE'],
    [{ EDGE_MAX_FAILS: 'many' }, 'EDGE_MAX_FAILS'],
    [{ EDGE_FAIL_TIMEOUT: 'soon' }, 'EDGE_FAIL_TIMEOUT'],
    [{ EDGE_CLIENT_HEADER_TIMEOUT: '0s' }, 'EDGE_CLIENT_HEADER_TIMEOUT'],
    [{ EDGE_CLIENT_BODY_TIMEOUT: '5 minutes' }, 'EDGE_CLIENT_BODY_TIMEOUT'],
    [{ EDGE_REGIONS_FILE: '/etc/kinora/missing.conf' }, 'EDGE_REGIONS_FILE'],
    [{ EDGE_REGIONS_FILE: '/etc/kinora/bad-regions.conf' }, 'EDGE_REGIONS_FILE'],
    [{ REGION: 'EU West' }, 'REGION'],
    [{ EDGE_TRUSTED_PROXIES: '10.0.0.0/8,proxy.local' }, 'EDGE_TRUSTED_PROXIES'],
    [{ EDGE_WORKER_PROCESSES: '0' }, 'EDGE_WORKER_PROCESSES'],
    [{ EDGE_WORKER_CONNECTIONS: '10' }, 'EDGE_WORKER_CONNECTIONS'],
    [{ EDGE_WORKER_USER: 'root;' }, 'EDGE_WORKER_USER'],
    [{ EDGE_WORKER_USER: 'a:b:c' }, 'EDGE_WORKER_USER'],
  ])('rejects %j naming %s in one line', (env, variable) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).not.toContain('\n');
  });

  it('reads the slow-client timeouts', () => {
    expect(load({ EDGE_CLIENT_HEADER_TIMEOUT: '4s', EDGE_CLIENT_BODY_TIMEOUT: '2m' }).clientTimeouts).toEqual({ headerSec: 4, bodySec: 120 });
  });

  it('names the file and line of a bad region range', () => {
    expect(configError({ EDGE_REGIONS_FILE: '/etc/kinora/bad-regions.conf' }).message).toMatch(/bad-regions\.conf line 2: .*"10\.2\.0\.0\/99"/);
  });

  it('resolves relative paths from where npm was started', () => {
    expect(loadEdgeConfig({ INIT_CWD: '/repo', EDGE_RUN_DIR: 'run/edge' }, undefined, io).runDir).toBe('/repo/run/edge');
  });

  it('serves TLS only when HTTP is off and TLS files are given', () => {
    const c = load({ EDGE_HTTP_PORT: 'off', EDGE_TLS_CERT: '/etc/tls/edge.crt', EDGE_TLS_KEY: '/etc/tls/edge.key' });
    expect(c.httpPort).toBeNull();
    expect(c.tls?.port).toBe(8443);
  });
});

describe('value parsers', () => {
  it('parses sizes, durations, rates and upstream lists', () => {
    expect(parseSize('X', '64K', '1m')).toBe(65_536);
    expect(parseSize('X', undefined, '2g')).toBe(2 * 1024 ** 3);
    expect(parseDuration('X', '90', '1s')).toBe(90);
    expect(parseDuration('X', '2h', '1s')).toBe(7200);
    expect(parseRate('X', '5r/m', '1r/s')).toEqual({ rate: 5, per: 'm' });
    expect(parseRate('X', 'off', '1r/s')).toBeNull();
    expect(parseUpstreams('X', '[::1]:80,h:1', '')).toEqual(['[::1]:80', 'h:1']);
    expect(() => parseUpstreams('X', '[nope]:80', '')).toThrow(ConfigError);
    expect(() => parseUpstreams('X', '::1:80', '')).toThrow(ConfigError);
  });
});
