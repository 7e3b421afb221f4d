import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEdgeConfig, type ConfigIo, type EdgeConfig } from './config.js';
import { formatDuration, formatSize, renderNginxConf } from './render.js';

const here = import.meta.dirname ?? new URL('.', import.meta.url).pathname;
const configDir = join(here, '..', 'config');

const io: ConfigIo = { readText: (p) => readFileSync(p, 'utf8'), isReadable: () => true };
const load = (env: Record<string, string> = {}): EdgeConfig =>
  loadEdgeConfig({ EDGE_RUN_DIR: '/run/edge', EDGE_UPSTREAMS: '10.0.0.1:8080,10.0.0.2:8080', ...env }, '/srv', io);

/** The body of the first block that starts with `header` (e.g. `location / {`), braces balanced. */
function block(conf: string, header: string): string {
  const start = conf.indexOf(`${header} {`);
  if (start === -1) throw new Error(`no block ${header}`);
  let depth = 0;
  for (let i = conf.indexOf('{', start); i < conf.length; i++) {
    if (conf[i] === '{') depth++;
    if (conf[i] === '}' && --depth === 0) return conf.slice(start, i + 1);
  }
  throw new Error(`unbalanced block ${header}`);
}

/** Lines without comments and quoted strings, for structural checks. */
function code(conf: string): string[] {
  return conf
    .split('\n')
    .map((l) => l.replace(/'[^']*'/g, "''").replace(/"[^"]*"/g, '""').replace(/#.*$/, '').trim())
    .filter(Boolean);
}

describe('renderNginxConf', () => {
  const conf = renderNginxConf(load());

  it('closes slow clients after the configured timeouts (15 s headers in all, 30 s between body reads by default)', () => {
    expect(conf).toContain('client_header_timeout 15s;');
    expect(conf).toContain('client_body_timeout 30s;');
    const short = renderNginxConf(load({ EDGE_CLIENT_HEADER_TIMEOUT: '4s', EDGE_CLIENT_BODY_TIMEOUT: '2m' }));
    expect(short).toContain('client_header_timeout 4s;');
    expect(short).toContain('client_body_timeout 2m;');
  });

  it('is deterministic and structurally sound', () => {
    expect(renderNginxConf(load())).toBe(conf);
    let depth = 0;
    for (const line of code(conf)) {
      expect(line).toMatch(/[;{}]$/);
      depth += (line.match(/{/g) ?? []).length - (line.match(/}/g) ?? []).length;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
  });

  it('defines every $edge_ variable it uses', () => {
    const used = new Set(conf.match(/\$edge_[a-z_]+/g));
    const defined = new Set([...conf.matchAll(/^\s*(?:map \S+|map "[^"]+"|geo) (\$edge_[a-z_]+) \{/gm)].map((m) => m[1]));
    expect([...used].sort()).toEqual([...defined].sort());
  });

  it('keeps pid, temp files, logs and the cache inside the run folder', () => {
    expect(conf).toContain('pid "/run/edge/nginx.pid";');
    expect(conf).toContain('error_log "/run/edge/logs/error.log" warn;');
    expect(conf).toContain('access_log "/run/edge/logs/access.log" kinora_json;');
    for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) expect(conf).toContain(`${t}_temp_path "/run/edge/tmp/${t}";`);
    expect(conf).toMatch(/proxy_cache_path "\/run\/edge\/cache" levels=1:2 keys_zone=kinora_media:32m max_size=10g inactive=30d/);
    expect(conf).not.toMatch(/^\s*(user|daemon) /m);
  });

  it('balances gateways with least_conn and passive health checks, realtime with a sticky hash', () => {
    expect(block(conf, 'upstream kinora_gateway')).toMatch(
      /least_conn;\s+server 10\.0\.0\.1:8080 max_fails=3 fail_timeout=10s;\s+server 10\.0\.0\.2:8080 max_fails=3 fail_timeout=10s;/,
    );
    expect(block(conf, 'upstream kinora_realtime')).toContain('hash $edge_sticky_key consistent;');
    const io = block(conf, 'location /socket.io/');
    expect(io).toContain('proxy_pass http://kinora_realtime;');
    expect(io).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(io).toContain('proxy_set_header Connection $edge_connection_upgrade;');
    expect(block(conf, 'map $arg_sticky $edge_sticky_key')).toContain('"" $remote_addr;');
  });

  it('sets the forwarded headers in every proxied location and overwrites client values', () => {
    const locations = [...conf.matchAll(/^ {8}location ([^@{][^{]*) \{/gm)].map((m) => `location ${m[1]}`);
    const proxied = locations.filter((l) => block(conf, l).includes('proxy_pass'));
    expect(proxied.length).toBe(6);
    for (const l of proxied) {
      const b = block(conf, l);
      for (const h of [
        'X-Forwarded-For $remote_addr',
        'X-Forwarded-Proto $scheme',
        'X-Request-Id $edge_request_id',
        'X-Kinora-Region $edge_region',
        'Accept-Encoding ""',
      ]) {
        expect(b).toContain(`proxy_set_header ${h};`);
      }
      expect(b).toContain('add_header X-Request-Id $edge_request_id always;');
    }
    expect(conf).toContain('proxy_hide_header X-Request-Id;');
  });

  it('caches segments 30 days and playlists briefly, without auth in the key', () => {
    const playlists = block(conf, 'location ~ "^/media/.+\\.(m3u8|mpd|vtt)$"');
    expect(playlists).toContain('proxy_cache_valid 200 10s;');
    const segments = block(conf, 'location ~ "^/media/.+\\.(m4s|mp4|m4a|m4v|ts|cmfv|cmfa|jpg|jpeg|png|webp)$"');
    expect(segments).toContain('proxy_cache_valid 200 206 30d;');
    for (const b of [playlists, segments]) {
      expect(b).toContain('proxy_cache_key "media$uri$is_args$args";');
      expect(b).toContain('add_header X-Cache-Status $upstream_cache_status always;');
      expect(b).toContain('proxy_no_cache $edge_no_store;');
      expect(b).not.toMatch(/authorization|cookie/i);
    }
    // Playlists come before the catch-all /media/ location so the regexes win.
    expect(conf.indexOf('location /media/ {')).toBeGreaterThan(conf.indexOf('m3u8|mpd|vtt'));
  });

  it('compresses text types and answers the edge limits as problem+json', () => {
    expect(conf).toMatch(/gzip_types [^;]*application\/json[^;]*application\/problem\+json/);
    expect(conf).toMatch(/gzip_types [^;]*application\/vnd\.apple\.mpegurl[^;]*application\/dash\+xml/);
    expect(conf).toContain('limit_req_zone $binary_remote_addr zone=edge_general:10m rate=20r/s;');
    expect(conf).toContain('limit_req_zone $binary_remote_addr zone=edge_media:10m rate=100r/s;');
    expect(conf).toContain('limit_req_status 429;');
    expect(block(conf, 'location /')).toContain('limit_req zone=edge_general burst=40 nodelay;');
    const p429 = block(conf, 'location @edge_429');
    expect(p429).toContain('default_type application/problem+json;');
    const body = /return 429 '(.*)';/.exec(p429)![1]!;
    const parsed = JSON.parse(body.replace(/\$edge_[a-z_]+/g, 'x'));
    expect(parsed).toEqual(expect.objectContaining({ status: 429, code: 'RATE_LIMITED', type: 'docs/errors.md#rate-limited' }));
    expect(block(conf, 'location @edge_503')).not.toContain('if ($edge_limited)');
  });

  it('renders 503 as the limit status, per-minute retry delays and switched-off limits', () => {
    const c = renderNginxConf(load({ EDGE_RATE_LIMIT: '6r/m', EDGE_MEDIA_RATE_LIMIT: 'off', EDGE_CONN_LIMIT: 'off', EDGE_RATE_LIMIT_STATUS: '503' }));
    expect(c).toContain('limit_req_status 503;');
    expect(c).not.toContain('zone=edge_media');
    expect(c).not.toContain('limit_conn edge_conn');
    expect(c).not.toContain('limit_conn_zone');
    expect(block(c, 'map "$limit_req_status:$limit_conn_status" $edge_retry_after')).toContain('"~^REJECTED" 10;');
    const p503 = block(c, 'location @edge_503');
    expect(p503).toContain('if ($edge_limited) {');
    expect(p503).toMatch(/Too many requests from this client/);
  });

  it('terminates TLS and can redirect plain HTTP', () => {
    const env = { EDGE_TLS_CERT: '/etc/tls/a.crt', EDGE_TLS_KEY: '/etc/tls/a.key', EDGE_HTTPS_PORT: '443', EDGE_HTTP_PORT: '80' };
    const c = renderNginxConf(load(env));
    expect(c).toContain('listen 0.0.0.0:443 ssl http2;');
    expect(c).toContain('ssl_certificate "/etc/tls/a.crt";');
    expect(c).toContain('ssl_certificate_key "/etc/tls/a.key";');
    expect(c).toContain('listen 0.0.0.0:80;');
    expect(c).not.toContain('return 308');
    const r = renderNginxConf(load({ ...env, EDGE_HTTP_REDIRECT: 'true', EDGE_HTTPS_PORT: '8443' }));
    expect(r).toContain('return 308 https://$host:8443$request_uri;');
    expect(r.match(/listen 0\.0\.0\.0:80;/g)).toHaveLength(1);
  });

  it('maps configured client ranges to regions and trusts only configured proxies', () => {
    const c = renderNginxConf(load({ REGION: 'eu-central', EDGE_REGIONS_FILE: join(configDir, 'regions.conf'), EDGE_TRUSTED_PROXIES: '10.0.0.0/8' }));
    const geo = block(c, 'geo $edge_region');
    expect(geo).toContain('default eu-central;');
    expect(geo).toContain('192.0.2.0/24 eu-west;');
    expect(geo).toContain('2001:db8::/32 eu-west;');
    expect(c).toContain('set_real_ip_from 10.0.0.0/8;');
    expect(c).toContain('real_ip_header X-Forwarded-For;');
    expect(conf).not.toContain('set_real_ip_from');
  });

  it('brackets IPv6 listen addresses and names the worker user when asked', () => {
    const c = renderNginxConf(load({ EDGE_LISTEN_HOST: '::', EDGE_WORKER_USER: 'nobody:nogroup' }));
    expect(c).toContain('listen [::]:8000;');
    expect(c).toContain('user nobody nogroup;');
  });

  it('matches the committed example (UPDATE_EXAMPLE=1 rewrites it)', () => {
    const example = renderNginxConf(
      loadEdgeConfig(
        {
          EDGE_RUN_DIR: '/var/lib/kinora/edge',
          EDGE_UPSTREAMS: '10.0.1.10:8080,10.0.1.11:8080,10.0.1.12:8080',
          EDGE_TLS_CERT: '/etc/kinora/tls/edge.crt',
          EDGE_TLS_KEY: '/etc/kinora/tls/edge.key',
          EDGE_HTTP_PORT: '80',
          EDGE_HTTPS_PORT: '443',
          EDGE_HTTP_REDIRECT: 'true',
          EDGE_REGIONS_FILE: join(configDir, 'regions.conf'),
          REGION: 'eu-central',
          EDGE_WORKER_USER: 'www-data',
        },
        '/',
        io,
      ),
    );
    const file = join(configDir, 'nginx.example.conf');
    if (process.env.UPDATE_EXAMPLE === '1') writeFileSync(file, example);
    expect(readFileSync(file, 'utf8')).toBe(example);
  });
});

describe('formatting', () => {
  it('writes sizes and durations the short way nginx reads them', () => {
    expect(formatSize(1024 ** 3 * 10)).toBe('10g');
    expect(formatSize(1536 * 1024)).toBe('1536k');
    expect(formatSize(1000)).toBe('1000');
    expect(formatDuration(30 * 86_400)).toBe('30d');
    expect(formatDuration(90)).toBe('90s');
    expect(formatDuration(120)).toBe('2m');
  });
});
