import type { VideoProjection } from '@kinora/projections';

export interface ChannelInfo {
  id: string;
  ownerId: string;
  handle: string;
  name: string;
}

/**
 * Where the subscription service learns whether a channel exists and who owns it (channels belong to the user
 * service and are not evented yet). Embedded mode wires it to the user module in-process; a standalone process
 * asks the user service over HTTP; without either, the video projection knows the channels that have videos.
 */
export interface ChannelDirectory {
  /** The channel, or null when there is none with this id. */
  channel(id: string): Promise<ChannelInfo | null>;
}

/** `GET <userServiceUrl>/api/v1/channels/:id` (public), bounded in time. */
export function httpChannelDirectory(baseUrl: string, timeoutMs = 2_000): ChannelDirectory {
  return {
    async channel(id) {
      const res = await fetch(`${baseUrl}/api/v1/channels/${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(timeoutMs) });
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`user service answered ${res.status} for channel ${id}`);
      const c = (await res.json()) as { id: string; ownerId: string; handle: string; name: string };
      return { id: c.id, ownerId: c.ownerId, handle: c.handle, name: c.name };
    },
  };
}

/** Channels known from their videos: a channel without any video is unknown, handle and name are unknown. */
export function projectionChannelDirectory(videos: VideoProjection): ChannelDirectory {
  return {
    async channel(id) {
      const ownerId = await videos.channelOwner(id);
      return ownerId ? { id, ownerId, handle: '', name: '' } : null;
    },
  };
}
