import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';

/** Where connection errors go (a pino logger fits). */
export interface RedisErrorLog {
  warn(obj: object, msg: string): void;
}

/**
 * Where Redis is: a URL (`redis://`, `rediss://`), or Sentinels and the name of the primary they monitor. The
 * shape of `Config['redis']` of libs/config, which parses `REDIS_URL` / `REDIS_SENTINELS` once.
 */
export type RedisTarget =
  | string
  | {
      mode: 'url';
      url: string;
      /** PEM CAs trusted for a `rediss://` URL instead of the system's. */
      tlsCa?: string | undefined;
    }
  | {
      mode: 'sentinel';
      /** TLS to the Sentinels and to the primary and replicas they name. */
      tls?: boolean | undefined;
      /** PEM CAs trusted for those connections instead of the system's. */
      tlsCa?: string | undefined;
      sentinels: ReadonlyArray<{ host: string; port: number }>;
      masterName: string;
      username?: string | undefined;
      password?: string | undefined;
      sentinelUsername?: string | undefined;
      sentinelPassword?: string | undefined;
    };

export interface RedisClientOptions extends Omit<RedisOptions, 'connectionName' | 'sentinels' | 'name'> {
  /** Who connects: the connection is named `kinora-<name>` (`CLIENT LIST` shows which process holds it). */
  name: string;
  /**
   * Connection errors are logged here at warn (message only: ioredis reports every failed reconnect, with a stack
   * that says nothing new). Without it ioredis prints unhandled error events to stderr.
   */
  logger?: RedisErrorLog;
  /** At most one error line per interval (ms) while Redis stays away; default 0: every error. */
  errorLogIntervalMs?: number;
}

/** Where the target is, for log lines (never credentials). */
export function describeRedisTarget(target: RedisTarget): string {
  if (typeof target === 'string' || target.mode === 'url') {
    const url = new URL(typeof target === 'string' ? target : target.url);
    return `${url.protocol}//${url.host}`;
  }
  return `sentinel master "${target.masterName}" via ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}${target.tls ? ' (TLS)' : ''}`;
}

/**
 * The one way Kinora processes open a Redis client: the shared defaults (connection name, error logging) and the
 * caller's ioredis options passed through unchanged (`lazyConnect`, `maxRetriesPerRequest`, `commandTimeout`,
 * `enableOfflineQueue`, `retryStrategy`, ...), since each use wants different failure behaviour: the gateway's
 * rate limits fail fast, view de-duplication tolerates a short wait, realtime retries.
 * With Sentinels, the client asks them for the current primary, and reconnects to the new one after a failover
 * (it also listens to the Sentinels' `+switch-master`, so it does not wait for the old primary to time out).
 * The caller owns the client (`quit()`/`disconnect()` when its app closes).
 */
export function createRedisClient(target: RedisTarget, opts: RedisClientOptions): Redis {
  const { name, logger, errorLogIntervalMs = 0, ...options } = opts;
  const connectionName = `kinora-${name}`;
  const sentinelTls =
    typeof target !== 'string' && target.mode === 'sentinel' && target.tls ? { ...options.tls, ...(target.tlsCa !== undefined ? { ca: target.tlsCa } : {}) } : undefined;
  let client: Redis;
  if (typeof target === 'string' || target.mode === 'url') {
    const ca = typeof target === 'string' ? undefined : target.tlsCa;
    client = new Redis(typeof target === 'string' ? target : target.url, { ...options, connectionName, ...(ca !== undefined ? { tls: { ...options.tls, ca } } : {}) });
  } else {
    // TLS: ioredis speaks it to the Sentinels (`sentinelTLS`) and to the data node they name (`tls`); the hostname
    // checked is the address the Sentinel gives, so the servers' certificates must name those addresses.
    client = new Redis({
      ...options,
      ...(sentinelTls ? { tls: sentinelTls, sentinelTLS: sentinelTls, enableTLSForSentinelMode: true } : {}),
      connectionName,
      sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: target.masterName,
      ...(target.username !== undefined ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.sentinelUsername !== undefined ? { sentinelUsername: target.sentinelUsername } : {}),
      ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
      failoverDetector: true,
    });
  }
  if (logger) {
    let lastLogged = -Infinity;
    const log = (obj: object, msg: string) => {
      const now = Date.now();
      if (now - lastLogged < errorLogIntervalMs) return;
      lastLogged = now;
      logger.warn({ ...obj, redis: connectionName }, msg);
    };
    client.on('error', (err: Error) => log({ err: { message: err.message } }, `${name} Redis connection error`));
    if (typeof target !== 'string' && target.mode === 'sentinel') {
      let probing = false;
      // An unknown master name reaches ioredis as Sentinel's "ERR No such master with that name" (Redis 7; older
      // Sentinels answer null, "got an invalid reply"), then "All sentinels are unreachable": say what it means.
      client.on('sentinelError', (err: Error) => {
        const m =
          /failed to connect to sentinel (\S+) because ERR No such master/.exec(err.message) ??
          /connected to sentinel (\S+) successfully, but got an invalid reply: null/.exec(err.message);
        if (m) {
          log(
            { sentinel: m[1], masterName: target.masterName },
            `${name} Redis: Sentinel ${m[1]} does not know a master named "${target.masterName}" (check REDIS_SENTINEL_MASTER)`,
          );
          return;
        }
        // Over TLS, a handshake that fails (an untrusted certificate, a Sentinel that does not speak TLS there)
        // reaches ioredis only as "Connection is closed.": find out why with a handshake of our own, and say it.
        const closed = /failed to connect to sentinel (\S+) because Connection is closed/.exec(err.message);
        if (sentinelTls && closed && !probing) {
          probing = true;
          void tlsFailure(closed[1]!, sentinelTls).then((reason) => {
            probing = false;
            if (reason !== undefined) {
              log(
                { sentinel: closed[1], err: { message: reason } },
                `${name} Redis: TLS with Sentinel ${closed[1]} failed: ${reason} (check REDIS_TLS_CA, and that the Sentinel listens for TLS on that port)`,
              );
            } else log({ err: { message: err.message } }, `${name} Redis Sentinel error`);
          });
          return;
        }
        log({ err: { message: err.message } }, `${name} Redis Sentinel error`);
      });
    }
  }
  return client;
}

/** Why a TLS handshake with `address` (`host:port`) fails, or undefined when it succeeds (within 3 s). */
function tlsFailure(address: string, options: ConnectionOptions): Promise<string | undefined> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(i + 1));
  return new Promise((resolve) => {
    const socket = tlsConnect({ ...options, host, port, ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }) });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(3_000, () => done('no TLS handshake within 3 s'));
    socket.once('secureConnect', () => done(undefined));
    socket.once('error', (err) => done(err.message));
  });
}
