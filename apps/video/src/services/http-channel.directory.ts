import type { VideoChannel } from '@kinora/contracts';
import { LSN_HEADER } from '@kinora/db';
import type { ChannelDirectory } from '../ports.js';

/**
 * The channel directory of a standalone video service: asks the user service (`USER_SERVICE_URL`) with the caller's
 * own bearer token which channel is theirs. Requests that reach the service without a bearer token (identity
 * forwarded by the gateway only) get no channel, so creation answers 503.
 */
export function httpChannelDirectory(userServiceUrl: string, timeoutMs = 5000): ChannelDirectory {
  const base = userServiceUrl.replace(/\/+$/, '');
  return {
    async channelOf(_principal, { authorization, lsn }) {
      if (!authorization) return null;
      // The caller's read-your-writes token: a caller who just registered is found even while the user service's
      // replicas are behind the registration (they then read from the primary).
      const headers: Record<string, string> = lsn !== undefined ? { authorization, [LSN_HEADER]: lsn } : { authorization };
      const me = await fetch(`${base}/api/v1/users/me`, { headers, signal: AbortSignal.timeout(timeoutMs) });
      if (me.status === 404) return null;
      if (!me.ok) throw new Error(`user service answered ${me.status} for /api/v1/users/me`);
      const { channelId } = (await me.json()) as { channelId: string };
      const res = await fetch(`${base}/api/v1/channels/${encodeURIComponent(channelId)}`, { signal: AbortSignal.timeout(timeoutMs) });
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`user service answered ${res.status} for a channel`);
      const c = (await res.json()) as VideoChannel;
      return { id: c.id, handle: c.handle, name: c.name };
    },
  };
}
