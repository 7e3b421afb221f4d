import { join } from 'node:path';
import type { EdgeConfig, LimitStatus, RateLimit } from './config.js';

/** Files and folders inside the run folder that the rendered configuration refers to. */
export interface RunPaths {
  conf: string;
  pid: string;
  lock: string;
  logs: string;
  accessLog: string;
  errorLog: string;
  /** Parent of nginx's temp folders (nginx creates the last level itself). */
  temp: string;
}

export function runPaths(runDir: string): RunPaths {
  const logs = join(runDir, 'logs');
  return {
    conf: join(runDir, 'nginx.conf'),
    pid: join(runDir, 'nginx.pid'),
    lock: join(runDir, 'nginx.lock'),
    logs,
    accessLog: join(logs, 'access.log'),
    errorLog: join(logs, 'error.log'),
    temp: join(runDir, 'tmp'),
  };
}

/** Content types compressed on the way out (text/html is always compressed by nginx). */
export const GZIP_TYPES = [
  'application/json',
  'application/problem+json',
  'application/javascript',
  'text/javascript',
  'text/css',
  'text/plain',
  'text/xml',
  'application/xml',
  'image/svg+xml',
  'application/vnd.apple.mpegurl',
  'application/x-mpegurl',
  'audio/mpegurl',
  'application/dash+xml',
  'text/vtt',
  'application/manifest+json',
] as const;

/** Media kept 30 days at the edge: CMAF segments and init segments, progressive files, thumbnails and sprites. */
export const SEGMENT_EXTENSIONS = ['m4s', 'mp4', 'm4a', 'm4v', 'ts', 'cmfv', 'cmfa', 'jpg', 'jpeg', 'png', 'webp'] as const;
/**
 * Kept only briefly: playlists, and WebVTT (the sprite map and captions), which the video service also marks as
 * changeable (`max-age=10`, rewritten by a re-transcode).
 */
export const PLAYLIST_EXTENSIONS = ['m3u8', 'mpd', 'vtt'] as const;

/** The query parameter a socket.io client may set (`query: { sticky }`) to be hashed instead of its address. */
export const STICKY_PARAM = 'sticky';

const UNITS: Array<[number, string]> = [
  [1024 ** 3, 'g'],
  [1024 ** 2, 'm'],
  [1024, 'k'],
];

/** Bytes in nginx's size syntax, as short as it is exact. */
export function formatSize(bytes: number): string {
  for (const [n, unit] of UNITS) if (bytes % n === 0) return `${bytes / n}${unit}`;
  return String(bytes);
}

const TIMES: Array<[number, string]> = [
  [86_400, 'd'],
  [3600, 'h'],
  [60, 'm'],
];

/** Seconds in nginx's time syntax. */
export function formatDuration(sec: number): string {
  for (const [n, unit] of TIMES) if (sec % n === 0) return `${sec / n}${unit}`;
  return `${sec}s`;
}

function listen(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Seconds a client should wait before the zone lets one more request through. */
function retryAfter(limit: RateLimit): number {
  return Math.max(1, Math.ceil((limit.per === 'm' ? 60 : 1) / limit.rate));
}

const indent = (lines: readonly string[], depth: number): string[] => lines.map((l) => (l === '' ? '' : `${'    '.repeat(depth)}${l}`));

/** A problem body in the shape the services use; `$edge_*` variables are only ever safe characters. */
function problem(status: number, code: string, title: string, detail: string): string {
  const type = `docs/errors.md#${code.toLowerCase().replace(/_/g, '-')}`;
  const body =
    `{"type":"${type}","title":"${title}","status":${status},"detail":"${detail}",` +
    `"instance":"$edge_problem_instance","code":"${code}","requestId":"$edge_request_id"}`;
  return `'${body}'`;
}

const PROBLEMS = {
  rate: (s: LimitStatus) =>
    s === 429
      ? problem(429, 'RATE_LIMITED', 'Too many requests', 'Too many requests from this client at the edge; retry after the Retry-After delay')
      : problem(503, 'SERVICE_UNAVAILABLE', 'Service unavailable', 'Too many requests from this client at the edge; retry after the Retry-After delay'),
  unavailable: () => problem(503, 'SERVICE_UNAVAILABLE', 'Service unavailable', 'No gateway instance is answering; retry after the Retry-After delay'),
  timeout: () => problem(504, 'UPSTREAM_TIMEOUT', 'Upstream timeout', 'The gateway did not answer in time'),
  tooLarge: () => problem(413, 'PAYLOAD_TOO_LARGE', 'Payload too large', 'The request body is larger than the edge accepts'),
  badRequest: () => problem(400, 'BAD_REQUEST', 'Bad request', 'The edge could not read the request (a malformed URL, request line or header)'),
  uriTooLong: () => problem(414, 'URI_TOO_LONG', 'URI too long', 'The request URL is longer than the edge accepts'),
  notFound: () => problem(404, 'NOT_FOUND', 'Not found', 'No such file of the web app'),
  headersTooLarge: () => problem(431, 'HEADERS_TOO_LARGE', 'Request headers too large', 'A request header, or all of them, is larger than the edge accepts'),
};

/**
 * Request headers for every proxied location. `proxy_set_header` in a location replaces the inherited list, so each
 * location gets the full set. Headers named here also replace whatever the client sent under the same name, which is
 * what makes X-Kinora-Region, X-Forwarded-* and X-Request-Id unforgeable.
 */
function proxyHeaders(websocket: boolean): string[] {
  return [
    'proxy_set_header Host $host;',
    'proxy_set_header X-Real-IP $remote_addr;',
    'proxy_set_header X-Forwarded-For $remote_addr;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header X-Forwarded-Host $host;',
    'proxy_set_header X-Forwarded-Port $server_port;',
    'proxy_set_header X-Request-Id $edge_request_id;',
    'proxy_set_header X-Kinora-Region $edge_region;',
    'proxy_set_header Accept-Encoding "";',
    ...(websocket
      ? ['proxy_set_header Upgrade $http_upgrade;', 'proxy_set_header Connection $edge_connection_upgrade;']
      : ['proxy_set_header Connection "";']),
  ];
}

/** `add_header` in a location replaces the inherited ones too. */
function responseHeaders(extra: readonly string[] = []): string[] {
  return ['add_header X-Request-Id $edge_request_id always;', ...extra];
}

function limits(config: EdgeConfig, zone: 'general' | 'media'): string[] {
  const out: string[] = [];
  const limit = config.limits[zone];
  if (limit) out.push(`limit_req zone=edge_${zone} burst=${limit.burst} nodelay;`);
  if (config.limits.connPerClient !== null) out.push(`limit_conn edge_conn ${config.limits.connPerClient};`);
  return out;
}

function cachedMediaLocation(config: EdgeConfig, extensions: readonly string[], ttlSec: number, codes: string, comment: string): string[] {
  return [
    `# ${comment}`,
    `location ~ "^/media/.+\\.(${extensions.join('|')})$" {`,
    ...indent(
      [
        ...limits(config, 'media'),
        'proxy_pass http://kinora_gateway;',
        ...proxyHeaders(false),
        'proxy_cache kinora_media;',
        'proxy_cache_key "media$uri$is_args$args";',
        `proxy_cache_valid ${codes} ${formatDuration(ttlSec)};`,
        'proxy_ignore_headers Cache-Control Expires;',
        'proxy_no_cache $edge_no_store;',
        'proxy_cache_lock on;',
        'proxy_cache_lock_timeout 10s;',
        'proxy_cache_revalidate on;',
        'proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;',
        '# Byte ranges (players seek) are cut from the cached object even if the origin did not advertise them.',
        'proxy_force_ranges on;',
        ...responseHeaders(['add_header X-Cache-Status $upstream_cache_status always;']),
      ],
      1,
    ),
    '}',
  ];
}

/** Paths the platform answers (proxied), never the web app's index.html. */
const PLATFORM_PATHS = String.raw`(?:api|internal|media|socket\.io|\.well-known|healthz|readyz|metrics|uploads|_edge)(?:/|$)`;

/** The only types the web app's files need (the http block types nothing: everything else is proxied). */
const WEB_TYPES = 'types { text/html html; text/javascript js mjs; text/css css; application/json json map; image/svg+xml svg; image/png png; image/webp webp; image/x-icon ico; font/woff2 woff2; text/plain txt; application/manifest+json webmanifest; }';

/**
 * The web app from disk (`EDGE_WEB_ROOT`, cluster mode): Vite's content-hashed `assets/` cached for a year,
 * index.html revalidated, app routes (no file extension, outside the platform's paths) answered with index.html for
 * client-side routing, a missing file a 404 problem. `^~` and the regexes win over `location /`, which still proxies
 * everything else to the gateways.
 */
function webAppLocations(config: EdgeConfig): string[] {
  if (!config.webRoot) return [];
  const root = `root "${config.webRoot}";`;
  // A named location keeps $uri, so the problem's `instance` is the path asked for.
  const notFound = 'error_page 404 =404 @edge_404;';
  return [
    '# The web app (EDGE_WEB_ROOT): hashed assets immutable, index.html revalidated, app routes → index.html.',
    'location ^~ /assets/ {',
    ...indent([...limits(config, 'general'), root, WEB_TYPES, notFound, 'try_files $uri =404;', ...responseHeaders(['add_header Cache-Control "public, max-age=31536000, immutable" always;'])], 1),
    '}',
    `location ~ "^/(?!${PLATFORM_PATHS})[^.]*$" {`,
    ...indent([...limits(config, 'general'), root, WEB_TYPES, 'try_files /index.html =404;', ...responseHeaders(['add_header Cache-Control "no-cache" always;'])], 1),
    '}',
    `location ~ "^/(?!${PLATFORM_PATHS}).*\\.[^/]*$" {`,
    ...indent([...limits(config, 'general'), root, WEB_TYPES, notFound, 'try_files $uri =404;', ...responseHeaders(['add_header Cache-Control "no-cache" always;'])], 1),
    '}',
    'location @edge_404 {',
    ...indent(['default_type application/problem+json;', ...responseHeaders(), `return 404 ${PROBLEMS.notFound()};`], 1),
    '}',
    '',
  ];
}

function serverBody(config: EdgeConfig): string[] {
  const rateStatus = config.limits.rateStatus;
  const lines: string[] = [
    '# Every proxied location sets the full list of upstream headers (a proxy_set_header in a location drops the',
    '# inherited ones). The edge is the trust boundary: X-Forwarded-*, X-Request-Id and X-Kinora-Region replace',
    '# whatever the client sent under those names. Accept-Encoding is dropped so that compression happens here,',
    '# once per response, and cached media is stored uncompressed. traceparent passes through unchanged.',
    '#',
    '# /media/ cache: the key holds neither Authorization nor cookies (one object serves every viewer); the edge',
    "# lifetime is ours (browsers still get the origin's Cache-Control), but a private or no-store answer, or one",
    '# that sets a cookie, is never stored.',
    '',
    '# "=code": without it nginx would keep the original status (a refused connection is a 502 until here).',
    'error_page 429 =429 @edge_429;',
    'error_page 502 503 =503 @edge_503;',
    'error_page 504 =504 @edge_504;',
    'error_page 413 =413 @edge_413;',
    '# Requests nginx itself refuses (an undecodable URL such as %00, a bad request line or header): problem+json too.',
    '# Internal URIs, not named locations: nginx has no URI to redirect with while it is still reading the request line.',
    'error_page 400 =400 /_edge/problem/400;',
    'error_page 414 =414 /_edge/problem/414;',
    'error_page 494 =431 /_edge/problem/431;',
    '',
    'location = /_edge/healthz {',
    ...indent(['access_log off;', 'default_type application/json;', ...responseHeaders(), `return 200 '{"status":"ok"}';`], 1),
    '}',
    '',
    'location = /_edge/status {',
    ...indent(['access_log off;', 'stub_status;', 'allow 127.0.0.1;', 'allow ::1;', 'deny all;'], 1),
    '}',
    '',
    '# socket.io: every request of one client (polling, then the websocket upgrade) must reach the same instance.',
    'location /socket.io/ {',
    ...indent(
      [
        ...limits(config, 'general'),
        'proxy_pass http://kinora_realtime;',
        ...proxyHeaders(true),
        'proxy_buffering off;',
        'proxy_read_timeout 75s;',
        'proxy_send_timeout 75s;',
        ...responseHeaders(),
      ],
      1,
    ),
    '}',
    '',
    '# tus uploads: large bodies streamed to the gateway as they arrive instead of spooled to disk first.',
    'location ^~ /api/v1/uploads {',
    ...indent(
      [
        ...limits(config, 'general'),
        `client_max_body_size ${formatSize(config.uploadMaxBodyBytes)};`,
        'proxy_request_buffering off;',
        'proxy_read_timeout 300s;',
        'proxy_send_timeout 300s;',
        'proxy_pass http://kinora_gateway;',
        ...proxyHeaders(false),
        ...responseHeaders(),
      ],
      1,
    ),
    '}',
    '',
    ...cachedMediaLocation(config, PLAYLIST_EXTENSIONS, config.cache.playlistTtlSec, '200', 'Playlists and WebVTT: cached briefly.'),
    '',
    ...cachedMediaLocation(config, SEGMENT_EXTENSIONS, config.cache.segmentTtlSec, '200 206', 'Segments, init segments, thumbnails, sprites: the CDN tier.'),
    '',
    'location /media/ {',
    ...indent([...limits(config, 'media'), 'proxy_pass http://kinora_gateway;', ...proxyHeaders(false), ...responseHeaders()], 1),
    '}',
    '',
    ...webAppLocations(config),
    'location / {',
    ...indent([...limits(config, 'general'), 'proxy_pass http://kinora_gateway;', ...proxyHeaders(false), ...responseHeaders()], 1),
    '}',
    '',
    '# Answers the edge itself gives, as problem+json like the services. Upstream errors pass through untouched',
    '# (proxy_intercept_errors is off).',
    'location @edge_429 {',
    ...indent(
      [
        'default_type application/problem+json;',
        ...responseHeaders(['add_header Retry-After $edge_retry_after always;']),
        `return 429 ${PROBLEMS.rate(429)};`,
      ],
      1,
    ),
    '}',
    'location @edge_503 {',
    ...indent(
      [
        'default_type application/problem+json;',
        ...responseHeaders(['add_header Retry-After $edge_retry_after always;']),
        ...(rateStatus === 503 || config.limits.connStatus === 503 ? [`if ($edge_limited) {`, `    return 503 ${PROBLEMS.rate(503)};`, '}'] : []),
        `return 503 ${PROBLEMS.unavailable()};`,
      ],
      1,
    ),
    '}',
    'location @edge_504 {',
    ...indent(['default_type application/problem+json;', ...responseHeaders(), `return 504 ${PROBLEMS.timeout()};`], 1),
    '}',
    'location @edge_413 {',
    ...indent(['default_type application/problem+json;', ...responseHeaders(), `return 413 ${PROBLEMS.tooLarge()};`], 1),
    '}',
    'location = /_edge/problem/400 {',
    ...indent(['internal;', 'default_type application/problem+json;', ...responseHeaders(), `return 400 ${PROBLEMS.badRequest()};`], 1),
    '}',
    'location = /_edge/problem/414 {',
    ...indent(['internal;', 'default_type application/problem+json;', ...responseHeaders(), `return 414 ${PROBLEMS.uriTooLong()};`], 1),
    '}',
    'location = /_edge/problem/431 {',
    ...indent(['internal;', 'default_type application/problem+json;', ...responseHeaders(), `return 431 ${PROBLEMS.headersTooLarge()};`], 1),
    '}',
  ];
  return lines;
}

const ACCESS_LOG_FIELDS: Array<[string, string]> = [
  ['time', '"$time_iso8601"'],
  ['requestId', '"$edge_request_id"'],
  ['remoteAddr', '"$remote_addr"'],
  ['region', '"$edge_region"'],
  ['scheme', '"$scheme"'],
  ['host', '"$host"'],
  ['method', '"$request_method"'],
  ['uri', '"$request_uri"'],
  ['protocol', '"$server_protocol"'],
  ['status', '$status'],
  ['bytesSent', '$body_bytes_sent'],
  ['requestTime', '$request_time'],
  ['upstream', '"$upstream_addr"'],
  ['upstreamStatus', '"$upstream_status"'],
  ['upstreamTime', '"$upstream_response_time"'],
  ['cache', '"$upstream_cache_status"'],
  ['limitReq', '"$limit_req_status"'],
  ['limitConn', '"$limit_conn_status"'],
  ['traceparent', '"$http_traceparent"'],
  ['userAgent', '"$http_user_agent"'],
];

/**
 * Renders the complete nginx.conf for `config`. Pure: the same config always gives the same text, and nothing is
 * read or written. Paths point into `config.runDir` (see {@link runPaths}); start nginx with
 * `nginx -p <runDir> -c <runDir>/nginx.conf -g 'daemon off;'`.
 */
export function renderNginxConf(config: EdgeConfig): string {
  const paths = runPaths(config.runDir);
  const q = (p: string) => `"${p}"`;
  const { general, media } = config.limits;
  const rateRetry = Math.max(general ? retryAfter(general) : 1, media ? retryAfter(media) : 1);
  const upstream = (name: string, balance: string, servers: readonly string[]): string[] => [
    `upstream ${name} {`,
    ...indent(
      [
        balance,
        ...servers.map((s) => `server ${s} max_fails=${config.maxFails} fail_timeout=${formatDuration(config.failTimeoutSec)};`),
        'keepalive 64;',
        'keepalive_timeout 60s;',
      ],
      1,
    ),
    '}',
  ];

  const http: string[] = [
    'server_tokens off;',
    'default_type application/octet-stream;',
    '',
    `client_body_temp_path ${q(join(paths.temp, 'client_body'))};`,
    `proxy_temp_path ${q(join(paths.temp, 'proxy'))};`,
    `fastcgi_temp_path ${q(join(paths.temp, 'fastcgi'))};`,
    `uwsgi_temp_path ${q(join(paths.temp, 'uwsgi'))};`,
    `scgi_temp_path ${q(join(paths.temp, 'scgi'))};`,
    '',
    ...(config.trustedProxies.length > 0
      ? [
          '# Proxies in front of the edge: their X-Forwarded-For gives the client address used for limits and regions.',
          ...config.trustedProxies.map((p) => `set_real_ip_from ${p};`),
          'real_ip_header X-Forwarded-For;',
          'real_ip_recursive on;',
          '',
        ]
      : []),
    '# A sane client X-Request-Id is kept (same rule as the services); anything else gets a fresh one.',
    'map $http_x_request_id $edge_request_id {',
    '    "~^[A-Za-z0-9._:-]{1,128}$" $http_x_request_id;',
    '    default $request_id;',
    '}',
    'map $http_upgrade $edge_connection_upgrade {',
    '    default upgrade;',
    '    "" "";',
    '}',
    `# Sticky key for socket.io: the client's \`${STICKY_PARAM}\` query parameter when it sends one (clients behind one`,
    '# NAT then spread), else its address. Both stay the same for every request of one socket.io session.',
    `map $arg_${STICKY_PARAM} $edge_sticky_key {`,
    '    "" $remote_addr;',
    `    default $arg_${STICKY_PARAM};`,
    '}',
    'map $upstream_http_cache_control $edge_no_store {',
    '    "~*(private|no-store)" 1;',
    '    default "";',
    '}',
    '# Problem bodies may only echo a path made of safe characters.',
    'map $uri $edge_problem_instance {',
    '    "~^[A-Za-z0-9/._~:@+,=-]*$" $uri;',
    '    default "";',
    '}',
    'map "$limit_req_status:$limit_conn_status" $edge_limited {',
    '    "~REJECTED" 1;',
    '    default "";',
    '}',
    '# Retry-After of the edge\'s own 429/503: a rate zone refills in 1/rate, a connection frees up at once, a gateway',
    '# outage takes a few seconds.',
    'map "$limit_req_status:$limit_conn_status" $edge_retry_after {',
    `    "~^REJECTED" ${rateRetry};`,
    '    "~:REJECTED" 1;',
    '    default 5;',
    '}',
    '',
    '# Region routing: the client address picks the region passed upstream as X-Kinora-Region.',
    'geo $edge_region {',
    `    default ${config.region.default};`,
    ...config.region.ranges.map((r) => `    ${r.cidr} ${r.region};`),
    '}',
    '',
    `log_format kinora_json escape=json '{${ACCESS_LOG_FIELDS.map(([k, v]) => `"${k}":${v}`).join(',')}}';`,
    `access_log ${q(paths.accessLog)} kinora_json;`,
    '',
    'sendfile on;',
    'tcp_nopush on;',
    'keepalive_timeout 65s;',
    `client_header_timeout ${formatDuration(config.clientTimeouts.headerSec)};`,
    `client_body_timeout ${formatDuration(config.clientTimeouts.bodySec)};`,
    'send_timeout 30s;',
    '# Bodies are read completely before a gateway sees them (slow clients cost the edge, not the gateways).',
    `client_max_body_size ${formatSize(config.maxBodyBytes)};`,
    'client_body_buffer_size 128k;',
    'proxy_request_buffering on;',
    'proxy_buffering on;',
    '',
    'gzip on;',
    'gzip_comp_level 5;',
    'gzip_min_length 256;',
    'gzip_proxied any;',
    'gzip_vary on;',
    `gzip_types ${GZIP_TYPES.join(' ')};`,
    '',
    '# Coarse per-address limits in front of the gateways\' exact, per-user ones.',
    ...(general ? [`limit_req_zone $binary_remote_addr zone=edge_general:10m rate=${general.rate}r/${general.per};`] : []),
    ...(media ? [`limit_req_zone $binary_remote_addr zone=edge_media:10m rate=${media.rate}r/${media.per};`] : []),
    ...(config.limits.connPerClient !== null ? ['limit_conn_zone $binary_remote_addr zone=edge_conn:10m;'] : []),
    `limit_req_status ${config.limits.rateStatus};`,
    `limit_conn_status ${config.limits.connStatus};`,
    'limit_req_log_level warn;',
    'limit_conn_log_level warn;',
    '',
    '# The CDN tier for /media/.',
    `proxy_cache_path ${q(config.cache.dir)} levels=1:2 keys_zone=kinora_media:32m max_size=${formatSize(config.cache.maxSizeBytes)} ` +
      `inactive=${formatDuration(Math.max(config.cache.segmentTtlSec, config.cache.playlistTtlSec))} use_temp_path=off;`,
    '',
    '# Passive health checks: an instance that fails max_fails times within fail_timeout rests for fail_timeout.',
    ...upstream('kinora_gateway', 'least_conn;', config.gateways),
    ...upstream('kinora_realtime', 'hash $edge_sticky_key consistent;', config.realtime),
    '',
    'proxy_http_version 1.1;',
    'proxy_connect_timeout 3s;',
    'proxy_send_timeout 60s;',
    'proxy_read_timeout 60s;',
    '# Only failures to connect or answer move a request to another instance; nginx never retries a non-idempotent',
    '# request that reached a gateway.',
    'proxy_next_upstream error timeout;',
    'proxy_next_upstream_tries 2;',
    'proxy_next_upstream_timeout 10s;',
    '# The edge sets X-Request-Id itself (cached responses would otherwise replay the first request\'s id).',
    'proxy_hide_header X-Request-Id;',
    '',
  ];

  const body = serverBody(config);
  const tls = config.tls;
  if (tls) {
    http.push(
      'ssl_protocols TLSv1.2 TLSv1.3;',
      'ssl_prefer_server_ciphers off;',
      'ssl_session_cache shared:edge_tls:10m;',
      'ssl_session_timeout 1h;',
      'ssl_session_tickets off;',
      '',
    );
  }
  if (tls && config.redirectHttp && config.httpPort !== null) {
    const target = tls.port === 443 ? 'https://$host$request_uri' : `https://$host:${tls.port}$request_uri`;
    http.push(
      'server {',
      ...indent(
        [
          `listen ${listen(config.listenHost, config.httpPort)};`,
          'location = /_edge/healthz {',
          `    access_log off;`,
          `    default_type application/json;`,
          `    return 200 '{"status":"ok"}';`,
          '}',
          'location / {',
          `    return 308 ${target};`,
          '}',
        ],
        1,
      ),
      '}',
      '',
    );
  }
  const listens: string[] = [];
  if (config.httpPort !== null && !(tls && config.redirectHttp)) listens.push(`listen ${listen(config.listenHost, config.httpPort)};`);
  if (tls) {
    listens.push(
      `listen ${listen(config.listenHost, tls.port)} ssl http2;`,
      `ssl_certificate ${q(tls.certFile)};`,
      `ssl_certificate_key ${q(tls.keyFile)};`,
    );
  }
  http.push('server {', ...indent([...listens, 'server_name _;', '', ...body], 1), '}');

  const main: string[] = [
    '# Generated by @kinora/edge (apps/edge/src/render.ts) from the EDGE_* environment. Do not edit: re-render.',
    `worker_processes ${config.workerProcesses};`,
    ...(config.workerUser ? [`user ${config.workerUser.replace(':', ' ')};`] : []),
    `pid ${q(paths.pid)};`,
    `lock_file ${q(paths.lock)};`,
    `error_log ${q(paths.errorLog)} warn;`,
    '# Open websockets would hold a graceful stop (SIGQUIT) forever.',
    'worker_shutdown_timeout 10s;',
    '',
    'events {',
    `    worker_connections ${config.workerConnections};`,
    '}',
    '',
    'http {',
    ...indent(http, 1),
    '}',
  ];
  return `${main.join('\n')}\n`;
}
