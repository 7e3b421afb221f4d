import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import { redisFor, type RedisTarget } from '@kinora/redis';
import type { Cache, CacheLayer, CacheResult, CacheStats, Loader } from './cache.js';
import type { KeyClass } from './key-class.js';
import { MemoryLru } from './memory.lru.js';

/** Where the cache reports what it could not do (a pino logger fits). */
export interface CacheLogger {
  warn(obj: object, msg: string): void;
}

export interface LayeredCacheOptions {
  /** Redis (`config.redis`); without it the cache is in process only (the all-in-one mode). */
  redis?: RedisTarget | undefined;
  /** Who uses the process's shared Redis connections (`<name>-cache`, in their stats); default `cache`. */
  name?: string;
  /** Redis key and channel prefix; default `kinora:cache`. Tests use their own. */
  prefix?: string;
  /** Bounds of the in-process layer. Defaults 50,000 entries, 64 MiB. */
  maxEntries?: number;
  maxBytes?: number;
  /** How long a Redis command may take before the layer is skipped for this request (ms). Default 250. */
  redisTimeoutMs?: number;
  /** Lifetime of the cross-instance load lock (ms): one instance loads a key, the others wait. Default 2,000. */
  lockMs?: number;
  /** How long an instance waits for another instance's load before loading itself (ms). Default 1,000. */
  lockWaitMs?: number;
  /** How often a waiting instance looks for the value (ms). Default 20. */
  lockPollMs?: number;
  /** `/metrics` registry for the `kinora_cache_*` series. */
  registry?: Registry;
  logger?: CacheLogger;
  /** Clock (ms) for lifetimes; tests inject one. */
  now?: () => number;
}

interface Held {
  /** The value, or null for "does not exist". */
  v: unknown;
  /** When the value stops being fresh at its source (Redis or the load), not only in this process. */
  until: number;
}

const silent: CacheLogger = { warn() {} };
const LAYERS: CacheLayer[] = ['memory', 'redis'];
const RESULTS: CacheResult[] = ['hit', 'miss', 'stale'];
const UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The {@link Cache}: an in-process LRU (bounded by entries and bytes) over Redis.
 *
 * - Single-flight: one load per key per process (concurrent callers share its promise), and across processes a
 *   short Redis lock (`SET NX PX`): the instance that takes it loads and stores, the others poll Redis for the value
 *   for up to `lockWaitMs`, then load themselves.
 * - Stale-while-revalidate: within `staleMs` after a value stops being fresh it is still served, and one refresh
 *   runs in the background (one per key per process; across processes, the one holding the lock).
 * - Negative caching: a loader's null is remembered for `negativeTtlMs`.
 * - Invalidation: `invalidate` deletes the key here and in Redis and publishes it; every instance drops its copy.
 *   Invalidations made while Redis is away are replayed when it returns, and an instance whose subscription broke
 *   drops its shared copies when it reconnects (it may have missed some).
 * - Redis down (or slower than `redisTimeoutMs`): the Redis layer is skipped, the process layer and the loader
 *   answer; the client reconnects by itself and the layer comes back.
 */
export class LayeredCache implements Cache {
  private readonly memory: MemoryLru<Held>;
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly refreshing = new Set<string>();
  /** Keys invalidated while a load of them ran, by the sequence number of the invalidation. */
  private readonly invalidatedAt = new Map<string, number>();
  /** Keys this process wrote to Redis lately: an invalidation that crosses such a write deletes it again. */
  private readonly recentWrites = new Map<string, number>();
  /** Invalidations that could not reach Redis, replayed when it is back. */
  private readonly pendingInvalidations = new Set<string>();
  private seq = 0;
  private readonly client: Redis | undefined;
  private readonly subscriber: Redis | undefined;
  private subscribedOnce = false;
  private readonly prefix: string;
  private readonly channel: string;
  private readonly instance = randomBytes(6).toString('hex');
  private readonly now: () => number;
  private readonly logger: CacheLogger;
  private readonly lockMs: number;
  private readonly lockWaitMs: number;
  private readonly lockPollMs: number;
  private readonly counts = new Map<string, { n: number; inc: () => void }>();
  private readonly requestsTotal: Counter<'class' | 'layer' | 'result'> | undefined;
  private readonly loadsTotal: Counter<'class' | 'result'> | undefined;
  private readonly invalidationsTotal: Counter<'class' | 'source'> | undefined;
  private readonly redisErrorsTotal: Counter<'op'> | undefined;
  private lastWarn = 0;
  private closed = false;

  constructor(opts: LayeredCacheOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger ?? silent;
    this.prefix = opts.prefix ?? 'kinora:cache';
    this.channel = `${this.prefix}:invalidate`;
    this.lockMs = opts.lockMs ?? 2_000;
    this.lockWaitMs = opts.lockWaitMs ?? 1_000;
    this.lockPollMs = opts.lockPollMs ?? 20;
    this.memory = new MemoryLru<Held>({ maxEntries: opts.maxEntries ?? 50_000, maxBytes: opts.maxBytes ?? 64 * 1024 * 1024, now: this.now });
    if (opts.registry) {
      const registers = [opts.registry];
      this.requestsTotal = new Counter({ name: 'kinora_cache_requests_total', help: 'Cache lookups by key class, layer and result (hit, miss, stale)', labelNames: ['class', 'layer', 'result'] as const, registers });
      this.loadsTotal = new Counter({ name: 'kinora_cache_loads_total', help: 'Loads from the source of truth after cache misses, by key class and result (ok, not_found, error)', labelNames: ['class', 'result'] as const, registers });
      this.invalidationsTotal = new Counter({ name: 'kinora_cache_invalidations_total', help: 'Keys evicted, by key class and source (local: this instance, remote: another instance over pub/sub)', labelNames: ['class', 'source'] as const, registers });
      this.redisErrorsTotal = new Counter({ name: 'kinora_cache_redis_errors_total', help: 'Redis cache operations that failed or timed out (the request was answered without the Redis layer)', labelNames: ['op'] as const, registers });
      const memory = this.memory;
      new Gauge({ name: 'kinora_cache_memory_entries', help: 'Entries held by the in-process cache layer', registers, collect() { this.set(memory.size); } });
      new Gauge({ name: 'kinora_cache_memory_bytes', help: 'Approximate bytes held by the in-process cache layer', registers, collect() { this.set(memory.bytes); } });
    }
    if (opts.redis !== undefined) {
      // Handles on the process's shared connections: commands on the `fail-fast` client (a request never waits for
      // Redis to come back: commands fail at once while it is away), invalidations heard on the `subscriber` one.
      const user = `${opts.name ?? 'cache'}-cache`;
      const logger = this.logger === silent ? {} : { logger: this.logger };
      this.client = redisFor(opts.redis, 'fail-fast', { user, commandTimeoutMs: opts.redisTimeoutMs ?? 250, ...logger });
      this.client.on('ready', () => void this.replayInvalidations());
      this.subscriber = redisFor(opts.redis, 'subscriber', { user, ...logger });
      this.subscriber.on('ready', () => {
        // ioredis subscribes again by itself (autoResubscribe); what was published meanwhile is lost.
        if (this.subscribedOnce) this.dropShared();
      });
      // The subscriber connection is shared with the process's other users: only this cache's channel counts here.
      this.subscriber.on('message', (channel: string, message: string) => {
        if (channel === this.channel) this.onRemoteInvalidation(message);
      });
      this.subscriber.subscribe(this.channel).then(
        () => (this.subscribedOnce = true),
        (err: unknown) => this.warn('subscribe', err),
      );
    }
  }

  /** Whether the Redis layer is in use right now (connected). */
  get redisReady(): boolean {
    return this.client?.status === 'ready';
  }

  /** Resolves once the Redis layer (and its invalidation subscription) is up; at once without Redis. */
  async ready(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.client && !(this.redisReady && this.subscribedOnce && this.subscriber?.status === 'ready')) {
      if (Date.now() > deadline) throw new Error('the Redis cache layer did not come up');
      await sleep(10);
    }
  }

  peek<T>(cls: KeyClass<T>, key: string): T | null | undefined {
    const held = this.memory.get(`${cls.name}:${key}`);
    if (held === undefined || held.freshUntil <= this.now()) return undefined;
    this.count(cls.name, 'memory', 'hit');
    return held.value.v as T | null;
  }

  async get<T>(cls: KeyClass<T>, key: string, load: Loader<T>): Promise<T | null> {
    const k = `${cls.name}:${key}`;
    const held = this.memory.get(k);
    if (held) {
      const now = this.now();
      if (held.freshUntil > now) {
        this.count(cls.name, 'memory', 'hit');
        return held.value.v as T | null;
      }
      if (held.value.until <= now) {
        // Stale at its source too: serve it, refresh once in the background.
        this.count(cls.name, 'memory', 'stale');
        this.refresh(cls, k, load);
        return held.value.v as T | null;
      }
      // Only this process's copy ran out: look again below.
    }
    this.count(cls.name, 'memory', 'miss');
    let running = this.inflight.get(k) as Promise<T | null> | undefined;
    if (!running) {
      const started = ++this.seq;
      const p: Promise<T | null> = this.fill(cls, k, load, started).finally(() => {
        if (this.inflight.get(k) === p) this.inflight.delete(k);
      });
      this.inflight.set(k, p);
      running = p;
    }
    return running;
  }

  async invalidate<T>(cls: KeyClass<T>, key: string): Promise<void> {
    const k = `${cls.name}:${key}`;
    this.forget(k);
    this.invalidationsTotal?.inc({ class: cls.name, source: 'local' });
    if (!this.client) return;
    if (!(await this.sendInvalidation(k, cls.shared !== false))) {
      if (this.pendingInvalidations.size < 100_000) this.pendingInvalidations.add(k);
      else this.dropShared();
    }
  }

  /** Counts per class, layer and result since start (the bench prints hit ratios from these). */
  stats(): CacheStats {
    const out: CacheStats = { requests: {}, loads: {} };
    for (const [label, { n }] of this.counts) {
      const [kind, cls, a, b] = label.split('|') as [string, string, string, string?];
      if (kind === 'r') {
        const byLayer = (out.requests[cls] ??= Object.fromEntries(LAYERS.map((l) => [l, Object.fromEntries(RESULTS.map((r) => [r, 0]))])) as CacheStats['requests'][string]);
        byLayer[a as CacheLayer][b as CacheResult] += n;
      } else {
        const loads = (out.loads[cls] ??= { ok: 0, not_found: 0, error: 0 });
        loads[a as keyof typeof loads] += n;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.client, this.subscriber].map(async (c) => {
      if (!c) return;
      try {
        if (c.status === 'ready') await c.quit();
        else c.disconnect();
      } catch {
        c.disconnect();
      }
    }));
  }

  private async fill<T>(cls: KeyClass<T>, k: string, load: Loader<T>, started: number): Promise<T | null> {
    if (cls.shared === false || !this.redisReady) return this.loadAndStore(cls, k, load, started, false);
    const found = await this.redisGet(cls, k);
    if (found) {
      const now = this.now();
      if (found.until > now) {
        this.count(cls.name, 'redis', 'hit');
        this.remember(cls, k, found.v, found.until, found.staleUntil, found.textLength);
        return found.v as T | null;
      }
      this.count(cls.name, 'redis', 'stale');
      this.remember(cls, k, found.v, found.until, found.staleUntil, found.textLength);
      this.refresh(cls, k, load);
      return found.v as T | null;
    }
    this.count(cls.name, 'redis', 'miss');
    const token = await this.lock(k);
    if (token === false) {
      // Another instance is loading it: wait for its value rather than load the same thing again.
      const deadline = Date.now() + this.lockWaitMs;
      while (Date.now() < deadline && this.redisReady) {
        await sleep(this.lockPollMs);
        const later = await this.redisGet(cls, k);
        if (later && later.until > this.now()) {
          this.remember(cls, k, later.v, later.until, later.staleUntil, later.textLength);
          return later.v as T | null;
        }
      }
    }
    try {
      return await this.loadAndStore(cls, k, load, started, true);
    } finally {
      if (typeof token === 'string') void this.unlock(k, token);
    }
  }

  /** Loads, and keeps the value (here, and in Redis when `shared`) unless the key was invalidated meanwhile. */
  private async loadAndStore<T>(cls: KeyClass<T>, k: string, load: Loader<T>, started: number, shared: boolean): Promise<T | null> {
    let value: T | null;
    try {
      value = (await load()) ?? null;
    } catch (err) {
      this.countLoad(cls.name, 'error');
      throw err;
    }
    this.countLoad(cls.name, value === null ? 'not_found' : 'ok');
    if ((this.invalidatedAt.get(k) ?? 0) > started) return value;
    const now = this.now();
    const ttl = value === null ? (cls.negativeTtlMs ?? 0) : cls.ttlMs;
    if (ttl <= 0) return value;
    const until = now + ttl;
    const staleUntil = value === null ? until : until + (cls.staleMs ?? 0);
    const text = this.remember(cls, k, value, until, staleUntil);
    if (shared && text !== undefined) await this.redisSet(k, text, until, staleUntil, started);
    return value;
  }

  /** One background refresh per key; across instances only the one that takes the lock loads. */
  private refresh<T>(cls: KeyClass<T>, k: string, load: Loader<T>): void {
    if (this.refreshing.has(k)) return;
    this.refreshing.add(k);
    const started = ++this.seq;
    const run = async () => {
      const shared = cls.shared !== false && this.redisReady;
      if (shared) {
        const found = await this.redisGet(cls, k);
        if (found && found.until > this.now()) {
          // Someone already refreshed it.
          this.remember(cls, k, found.v, found.until, found.staleUntil, found.textLength);
          return;
        }
        const token = await this.lock(k);
        if (token === false) return;
        try {
          await this.loadAndStore(cls, k, load, started, true);
        } finally {
          if (typeof token === 'string') void this.unlock(k, token);
        }
        return;
      }
      await this.loadAndStore(cls, k, load, started, false);
    };
    run()
      .catch((err: unknown) => this.warn('refresh', err, { key: k }))
      .finally(() => this.refreshing.delete(k));
  }

  /**
   * Keeps a value in process; returns its encoded text (for Redis), or undefined when it cannot be encoded.
   * `textLength`: the length of its encoded text when it came from Redis (its size, without encoding it again).
   */
  private remember<T>(cls: KeyClass<T>, k: string, value: T | null, until: number, staleUntil: number, textLength?: number): string | undefined {
    let text: string | undefined;
    if (textLength === undefined) {
      try {
        text = value === null ? '' : cls.encode ? cls.encode(value) : JSON.stringify(value);
      } catch (err) {
        this.warn('encode', err, { key: k });
        return undefined;
      }
    }
    const now = this.now();
    const memoryUntil = Math.min(until, now + (cls.memoryTtlMs ?? cls.ttlMs));
    const size = 64 + 2 * (k.length + (text?.length ?? textLength ?? 0));
    this.memory.set(k, { value: { v: value, until }, size, freshUntil: memoryUntil, staleUntil: Math.max(staleUntil, memoryUntil) });
    return text;
  }

  private forget(k: string): void {
    this.memory.delete(k);
    if (this.inflight.has(k) || this.refreshing.has(k)) {
      this.invalidatedAt.set(k, ++this.seq);
      if (this.invalidatedAt.size > 10_000) this.invalidatedAt.delete(this.invalidatedAt.keys().next().value!);
      // A load that started before this invalidation may finish after it: new readers start their own.
      this.inflight.delete(k);
    } else {
      this.invalidatedAt.delete(k);
    }
  }

  private onRemoteInvalidation(message: string): void {
    const sep = message.indexOf(' ');
    if (sep < 0 || message.slice(0, sep) === this.instance) return;
    const k = message.slice(sep + 1);
    this.forget(k);
    this.invalidationsTotal?.inc({ class: k.slice(0, k.indexOf(':')), source: 'remote' });
    const wrote = this.recentWrites.get(k);
    if (wrote !== undefined && Date.now() - wrote < this.lockMs) {
      // This instance may have stored an old value just after the invalidating instance deleted it.
      void this.client?.del(this.redisKey(k)).catch((err: unknown) => this.warn('del', err));
    }
  }

  /** Deletes the key in Redis (`shared` classes) and tells the other instances; false when Redis did not take it. */
  private async sendInvalidation(k: string, shared = true): Promise<boolean> {
    if (!this.client || !this.redisReady) return false;
    try {
      const message = `${this.instance} ${k}`;
      if (shared) await this.client.multi().del(this.redisKey(k)).publish(this.channel, message).exec();
      else await this.client.publish(this.channel, message);
      return true;
    } catch (err) {
      this.warn('invalidate', err, { key: k });
      return false;
    }
  }

  private async replayInvalidations(): Promise<void> {
    const keys = [...this.pendingInvalidations];
    this.pendingInvalidations.clear();
    for (const k of keys) {
      if (!(await this.sendInvalidation(k))) this.pendingInvalidations.add(k);
    }
  }

  /** Drops this process's copies of shared classes (after a gap in the invalidation feed). */
  private dropShared(): void {
    this.memory.clear();
  }

  private redisKey(k: string): string {
    return `${this.prefix}:${k}`;
  }

  /**
   * Redis holds `<freshUntil>|<staleUntil>|<v or n>|<text>` with a PX of the stale window's end: one string, one
   * round trip, the lifetimes travel with the value.
   */
  private async redisGet<T>(cls: KeyClass<T>, k: string): Promise<{ v: T | null; until: number; staleUntil: number; textLength: number } | undefined> {
    if (!this.client || !this.redisReady) return undefined;
    let raw: string | null;
    try {
      raw = await this.client.get(this.redisKey(k));
    } catch (err) {
      this.warn('get', err);
      return undefined;
    }
    if (raw === null) return undefined;
    const a = raw.indexOf('|');
    const b = raw.indexOf('|', a + 1);
    if (a < 0 || b < 0 || raw.length < b + 3) return undefined;
    const until = Number(raw.slice(0, a));
    const staleUntil = Number(raw.slice(a + 1, b));
    if (raw[b + 1] === 'n') return { v: null, until, staleUntil, textLength: 0 };
    const text = raw.slice(b + 3);
    try {
      return { v: cls.decode ? cls.decode(text) : (JSON.parse(text) as T), until, staleUntil, textLength: text.length };
    } catch (err) {
      this.warn('decode', err, { key: k });
      return undefined;
    }
  }

  private async redisSet(k: string, text: string, until: number, staleUntil: number, started: number): Promise<void> {
    const pxMs = staleUntil - this.now();
    if (!this.client || !this.redisReady || pxMs <= 0) return;
    const raw = `${until}|${staleUntil}|${text === '' ? 'n' : 'v'}|${text}`;
    try {
      await this.client.set(this.redisKey(k), raw, 'PX', Math.ceil(pxMs));
      this.recentWrites.set(k, Date.now());
      if (this.recentWrites.size > 10_000) this.recentWrites.delete(this.recentWrites.keys().next().value!);
      if ((this.invalidatedAt.get(k) ?? 0) > started) await this.client.del(this.redisKey(k));
    } catch (err) {
      this.warn('set', err);
    }
  }

  /** A token when this instance took the load lock, false when another holds it, null when Redis did not answer. */
  private async lock(k: string): Promise<string | false | null> {
    if (!this.client || !this.redisReady) return null;
    const token = `${this.instance}-${++this.seq}`;
    try {
      const ok = await this.client.set(`${this.redisKey(k)}:lock`, token, 'PX', this.lockMs, 'NX');
      return ok === 'OK' ? token : false;
    } catch (err) {
      this.warn('lock', err);
      return null;
    }
  }

  private async unlock(k: string, token: string): Promise<void> {
    if (!this.client || !this.redisReady) return;
    try {
      await this.client.eval(UNLOCK, 1, `${this.redisKey(k)}:lock`, token);
    } catch (err) {
      this.warn('unlock', err);
    }
  }

  private count(cls: string, layer: CacheLayer, result: CacheResult): void {
    this.counter(`r|${cls}|${layer}|${result}`, () => this.requestsTotal?.labels(cls, layer, result)).inc();
  }

  private countLoad(cls: string, result: 'ok' | 'not_found' | 'error'): void {
    this.counter(`l|${cls}|${result}`, () => this.loadsTotal?.labels(cls, result)).inc();
  }

  private counter(label: string, child: () => { inc(): void } | undefined): { inc: () => void } {
    let c = this.counts.get(label);
    if (!c) {
      const metric = child();
      const entry: { n: number; inc: () => void } = {
        n: 0,
        inc: () => {
          entry.n += 1;
          metric?.inc();
        },
      };
      this.counts.set(label, entry);
      c = entry;
    }
    return c;
  }

  private warn(op: string, err: unknown, extra: object = {}): void {
    if (!['encode', 'decode', 'refresh'].includes(op)) this.redisErrorsTotal?.inc({ op });
    if (this.closed) return;
    const now = Date.now();
    if (now - this.lastWarn < 10_000) return;
    this.lastWarn = now;
    this.logger.warn({ ...extra, op, err: { message: err instanceof Error ? err.message : String(err) } }, op === 'refresh' ? 'cache: a background refresh failed; the stale value is served until it expires' : `cache: ${op} failed; answering without the Redis layer`);
  }
}
