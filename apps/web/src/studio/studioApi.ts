import type { AnalyticsSeries, Channel, FeedVideo, Notification, UpdateChannelBody, UpdateVideoBody, Video } from '@kinora/contracts';
import { api, type ApiClient, type Page } from '../api.js';
import { NOTIFICATIONS_PAGE } from '../notifications/model.js';

// The calls of the channel page, the studio, the subscriptions feed and the notifications menu (spec: the routes of
// apps/user, apps/video, apps/subscription and apps/analytics). Kept beside api.ts so that file stays small.

const id = (s: string) => encodeURIComponent(s);

export function studioApi(c: ApiClient = api) {
  return {
    channel: (channelId: string) => c.request<Channel>('GET', `/api/v1/channels/${id(channelId)}`),
    updateChannel: (channelId: string, body: UpdateChannelBody) => c.request<Channel>('PATCH', `/api/v1/channels/${id(channelId)}`, body),
    channelVideos: (channelId: string) => c.request<Page<Video>>('GET', `/api/v1/channels/${id(channelId)}/videos`),
    subscription: (channelId: string) => c.request<{ subscribed: boolean }>('GET', `/api/v1/channels/${id(channelId)}/subscription`),
    subscribe: (channelId: string) => c.request<void>('PUT', `/api/v1/channels/${id(channelId)}/subscription`),
    unsubscribe: (channelId: string) => c.request<void>('DELETE', `/api/v1/channels/${id(channelId)}/subscription`),
    subscriptionsFeed: () => c.request<Page<FeedVideo>>('GET', '/api/v1/feed/subscriptions'),
    myVideos: (cursor?: string) => c.request<Page<Video>>('GET', `/api/v1/users/me/videos?limit=50${cursor ? `&cursor=${id(cursor)}` : ''}`),
    createVideo: (body: { title: string; description?: string; tags?: string[]; visibility?: Video['visibility'] }) => c.request<Video>('POST', '/api/v1/videos', body),
    updateVideo: (videoId: string, body: UpdateVideoBody) => c.request<Video>('PATCH', `/api/v1/videos/${id(videoId)}`, body),
    deleteVideo: (videoId: string) => c.request<void>('DELETE', `/api/v1/videos/${id(videoId)}`),
    analytics: (videoId: string, granularity: 'hour' | 'day') => c.request<AnalyticsSeries>('GET', `/api/v1/videos/${id(videoId)}/analytics?granularity=${granularity}`),
    notifications: () => c.request<Page<Notification>>('GET', `/api/v1/notifications?limit=${NOTIFICATIONS_PAGE}`),
    markRead: (ids?: string[]) => c.request<void>('POST', '/api/v1/notifications/read', ids ? { ids } : {}),
  };
}

export const studio = studioApi();

/** "a, b,  c" → ["a", "b", "c"]: tags as typed in one field, blanks and repeats (case-insensitive) dropped. */
export function parseTags(input: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of input.split(',')) {
    const t = raw.trim();
    if (!t || seen.has(t.toLowerCase())) continue;
    seen.add(t.toLowerCase());
    out.push(t);
  }
  return out;
}

export const STATE_LABELS: Record<Video['state'], string> = {
  awaiting_upload: 'Waiting for upload',
  processing: 'Processing',
  ready: 'Ready',
  failed: 'Failed',
};
