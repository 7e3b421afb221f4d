/** A channel's display fields, for the list items (channels belong to the user service and are not evented yet). */
export interface ChannelNames {
  /** The channel's handle and name, or null when it is unknown. */
  channel(id: string): Promise<{ handle: string; name: string } | null>;
}

/**
 * `GET <userServiceUrl>/api/v1/channels/:id` (public), bounded in time, remembered for `ttlMs` (handles and names
 * change rarely). A failure is not cached and answers null: a list never fails because the user service is down.
 */
export function httpChannelNames(baseUrl: string, opts: { timeoutMs?: number; ttlMs?: number; maxEntries?: number } = {}): ChannelNames {
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const ttlMs = opts.ttlMs ?? 60_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const cache = new Map<string, { at: number; value: { handle: string; name: string } | null }>();
  return {
    async channel(id) {
      const hit = cache.get(id);
      if (hit && Date.now() - hit.at < ttlMs) return hit.value;
      try {
        const res = await fetch(`${baseUrl}/api/v1/channels/${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(timeoutMs) });
        if (res.status !== 404 && !res.ok) return hit?.value ?? null;
        const value = res.status === 404 ? null : ((await res.json()) as { handle: string; name: string });
        const entry = value ? { handle: value.handle, name: value.name } : null;
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
        cache.set(id, { at: Date.now(), value: entry });
        return entry;
      } catch {
        return hit?.value ?? null;
      }
    },
  };
}

/** Nothing known: handle and name stay empty (a process without the user service). */
export const noChannelNames: ChannelNames = { channel: async () => null };
