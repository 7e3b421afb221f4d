import type { Redis } from 'ioredis';
import { createRedisClient, describeRedisTarget, type RedisErrorLog, type RedisTarget } from './redis.client.js';

/**
 * What a caller needs from its connection:
 *
 * - `fail-fast`: request-path commands (rate limits, cache reads, view de-duplication). No offline queue, no
 *   retries per request, a short command timeout per user: while Redis is away a command fails at once and the
 *   caller falls back. Shared by every user of the process.
 * - `queued`: commands that may wait through a short reconnect (realtime's presence, chat limits, the socket.io
 *   adapter's writes): offline queue, two retries per request, auto-pipelining. Shared.
 * - `subscriber`: a connection in subscriber mode (cache invalidations). Shared: each user's channels and listeners
 *   are its own and go away with it.
 * - `blocking`: blocking reads (the socket.io streams adapter's `XREAD BLOCK`, its pub/sub client). Never shared:
 *   every acquisition is its own connection, since a blocked connection answers nobody else.
 */
export type RedisProfile = 'fail-fast' | 'queued' | 'subscriber' | 'blocking';

export const REDIS_PROFILES: readonly RedisProfile[] = ['fail-fast', 'queued', 'subscriber', 'blocking'];

export interface RedisLeaseOptions {
  /** Who uses it (logs, {@link RedisConnections.stats}); `blocking` connections are named `kinora-blocking-<user>`. */
  user: string;
  /**
   * `fail-fast` only: how long this user's commands may take (ms), default 250. Users of one shared client may ask
   * for different timeouts: the client's own timeout is the largest one asked, shorter ones are enforced per command
   * on this user's handle.
   */
  commandTimeoutMs?: number;
  /** Connection errors of a new client go here (at most once a minute); the first user's logger is kept. */
  logger?: RedisErrorLog;
}

interface Entry {
  key: string;
  profile: RedisProfile;
  target: RedisTarget;
  client: Redis;
  users: Map<Lease, string>;
  /** Channel (or pattern, prefixed `p:`) → how many users subscribed it. */
  channels: Map<string, number>;
}

type Listener = Parameters<Redis['off']>[1];

interface Lease {
  released: boolean;
  timeoutMs: number | undefined;
  listeners: Array<[string | symbol, Listener]>;
  channels: Set<string>;
}

const DEFAULT_TIMEOUT_MS = 250;
/** Methods that never take a per-command timeout (connection management, pub/sub, events, pipelines). */
const UNTIMED = new Set<PropertyKey>(['connect', 'quit', 'disconnect', 'duplicate', 'multi', 'pipeline', 'monitor', 'subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']);
const ADD = new Set<PropertyKey>(['on', 'once', 'addListener', 'prependListener', 'prependOnceListener']);
const REMOVE = new Set<PropertyKey>(['off', 'removeListener']);

function profileOptions(profile: RedisProfile) {
  switch (profile) {
    case 'fail-fast':
      return {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: 1_000,
        // No auto-pipelining: callers send one command per event-loop turn, and ioredis' per-turn Pipeline objects
        // outlived young-generation collections in the gateway benchmark (longer scavenges, worse p99).
        enableAutoPipelining: false,
        retryStrategy: (times: number) => Math.min(50 * times, 1_000),
      };
    case 'queued':
      return { maxRetriesPerRequest: 2, enableAutoPipelining: true };
    case 'subscriber':
      return { retryStrategy: (times: number) => Math.min(50 * 2 ** times, 2_000) };
    case 'blocking':
      return { maxRetriesPerRequest: 2 };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('Command timed out')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err);
      },
    );
  });
}

/**
 * The Redis connections of one process: one client per (target, profile), handed out as handles and closed by the
 * last user. A handle is the client as its user sees it (an ioredis `Redis`): `quit()` and `disconnect()` release it,
 * listeners it added and channels it subscribed go away with it, `fail-fast` commands honour its own timeout.
 * `duplicate()` of a handle acquires a `blocking` connection (what the socket.io streams adapter duplicates for).
 */
export class RedisConnections {
  private readonly entries = new Map<string, Entry>();
  private blockingSeq = 0;

  /** A handle on the process's client for `target` and `profile` (connected on first use of that pair). */
  acquire(target: RedisTarget, profile: RedisProfile, opts: RedisLeaseOptions): Redis {
    const base = `${profile} ${typeof target === 'string' ? target : JSON.stringify(target)}`;
    const key = profile === 'blocking' ? `${base} #${++this.blockingSeq}` : base;
    let entry = this.entries.get(key);
    if (!entry) {
      const client = createRedisClient(target, {
        name: profile === 'blocking' ? `blocking-${opts.user}` : profile,
        ...(opts.logger ? { logger: opts.logger, errorLogIntervalMs: 60_000 } : {}),
        ...profileOptions(profile),
      });
      entry = { key, profile, target, client, users: new Map(), channels: new Map() };
      this.entries.set(key, entry);
    }
    const lease: Lease = {
      released: false,
      timeoutMs: profile === 'fail-fast' ? (opts.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS) : undefined,
      listeners: [],
      channels: new Set(),
    };
    entry.users.set(lease, opts.user);
    this.adjustTimeout(entry);
    return this.handle(entry, lease, target, opts);
  }

  /** Open clients by profile and target (never credentials), with their users: for logs and tests. */
  stats(): Array<{ profile: RedisProfile; target: string; users: string[] }> {
    return [...this.entries.values()].map((e) => ({
      profile: e.profile,
      target: describeRedisTarget(e.target),
      users: [...e.users.values()],
    }));
  }

  /** How many clients are open (each is one connection, plus one per Sentinel while it looks up the primary). */
  get size(): number {
    return this.entries.size;
  }

  /** The client's own timeout is the largest its users asked for; shorter ones are raced per command. */
  private adjustTimeout(entry: Entry): void {
    if (entry.profile !== 'fail-fast') return;
    let max = 0;
    for (const l of entry.users.keys()) max = Math.max(max, l.timeoutMs ?? 0);
    if (max > 0) entry.client.options.commandTimeout = max;
  }

  private async release(entry: Entry, lease: Lease, mode: 'quit' | 'disconnect'): Promise<void> {
    if (lease.released) return;
    lease.released = true;
    entry.users.delete(lease);
    const { client } = entry;
    for (const [event, fn] of lease.listeners) client.off(event, fn);
    lease.listeners.length = 0;
    if (entry.users.size > 0) {
      this.adjustTimeout(entry);
      const drop: string[] = [];
      for (const c of lease.channels) {
        const n = (entry.channels.get(c) ?? 1) - 1;
        if (n > 0) entry.channels.set(c, n);
        else {
          entry.channels.delete(c);
          drop.push(c);
        }
      }
      const plain = drop.filter((c) => c.startsWith('c:')).map((c) => c.slice(2));
      const patterns = drop.filter((c) => c.startsWith('p:')).map((c) => c.slice(2));
      const sharded = drop.filter((c) => c.startsWith('s:')).map((c) => c.slice(2));
      await Promise.all([
        plain.length > 0 ? client.unsubscribe(...plain).catch(() => undefined) : undefined,
        patterns.length > 0 ? client.punsubscribe(...patterns).catch(() => undefined) : undefined,
        sharded.length > 0 ? client.sunsubscribe(...sharded).catch(() => undefined) : undefined,
      ]);
      return;
    }
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    if (mode === 'quit' && client.status === 'ready') {
      await client.quit().then(
        () => undefined,
        () => client.disconnect(),
      );
    } else {
      client.disconnect();
    }
  }

  private handle(entry: Entry, lease: Lease, target: RedisTarget, opts: RedisLeaseOptions): Redis {
    const { client } = entry;
    const connections = this;
    const methods = new Map<PropertyKey, { fn: unknown; call: unknown }>();
    const subscribe = (kind: 'c' | 'p' | 's', channels: unknown[]) => {
      for (const c of channels) {
        if (typeof c !== 'string') continue;
        const k = `${kind}:${c}`;
        if (lease.channels.has(k)) continue;
        lease.channels.add(k);
        entry.channels.set(k, (entry.channels.get(k) ?? 0) + 1);
      }
    };
    const proxy: Redis = new Proxy(client, {
      get(t, prop) {
        const value: unknown = Reflect.get(t, prop);
        if (prop === 'quit') return async () => (await connections.release(entry, lease, 'quit'), 'OK' as const);
        if (prop === 'disconnect') return () => void connections.release(entry, lease, 'disconnect');
        if (prop === 'duplicate') return () => connections.acquire(target, 'blocking', { ...opts, user: `${opts.user}-dup` });
        if (typeof value !== 'function') return value;
        const fn = value as (...a: unknown[]) => unknown;
        if (ADD.has(prop)) {
          return (event: string | symbol, listener: Listener) => {
            if (!lease.released) {
              lease.listeners.push([event, listener]);
              fn.call(t, event, listener);
            }
            return proxy;
          };
        }
        if (REMOVE.has(prop)) {
          return (event: string | symbol, listener: Listener) => {
            const i = lease.listeners.findIndex(([e, l]) => e === event && l === listener);
            if (i >= 0) lease.listeners.splice(i, 1);
            fn.call(t, event, listener);
            return proxy;
          };
        }
        if (prop === 'subscribe' || prop === 'psubscribe' || prop === 'ssubscribe') {
          return (...args: unknown[]) => {
            subscribe(prop === 'subscribe' ? 'c' : prop === 'psubscribe' ? 'p' : 's', args);
            return fn.apply(t, args);
          };
        }
        // One function per method and handle (the request path calls these per request).
        let wrapped = methods.get(prop);
        if (wrapped?.fn !== fn) {
          const timeoutMs = lease.timeoutMs;
          const call =
            timeoutMs === undefined || UNTIMED.has(prop)
              ? fn.bind(t)
              : (...args: unknown[]) => {
                  const result = fn.apply(t, args);
                  // The client's own timeout is the largest of its users'; a shorter one is this handle's to keep.
                  return result instanceof Promise && timeoutMs < (t.options.commandTimeout ?? Infinity) ? withTimeout(result, timeoutMs) : result;
                };
          wrapped = { fn, call };
          methods.set(prop, wrapped);
        }
        return wrapped.call;
      },
    });
    return proxy;
  }
}

/** The process's connections: every Kinora module of a process acquires its Redis clients here. */
export const redisConnections = new RedisConnections();

/** A handle on the process's shared client for `target` and `profile` (see {@link RedisConnections}). */
export function redisFor(target: RedisTarget, profile: RedisProfile, opts: RedisLeaseOptions): Redis {
  return redisConnections.acquire(target, profile, opts);
}
