import type { Redis } from 'ioredis';

/** Commands the streams adapter sends without handling their failure. */
const FIRE_AND_FORGET = new Set<PropertyKey>(['publish', 'spublish', 'subscribe', 'ssubscribe']);

/**
 * The Redis client as the socket.io streams adapter gets it. The adapter sends its heartbeats (`PUBLISH`) and its
 * subscriptions without a `catch`: while Redis is down each failure would be an unhandled rejection, which ends the
 * process (an instance started during a Redis outage died within seconds). Here those promises are marked handled
 * (the adapter still receives them, and ioredis reconnects by itself); the clients it duplicates get the same.
 */
export function adapterClient(redis: Redis): Redis {
  return new Proxy(redis, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'duplicate') return (...args: unknown[]) => adapterClient((value as (...a: unknown[]) => Redis).apply(target, args));
      if (FIRE_AND_FORGET.has(prop)) {
        return (...args: unknown[]) => {
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) result.catch(() => undefined);
          return result;
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}
