import type { Video, VideoStats } from '@kinora/contracts';
import type { VideoRecord } from '../repositories/video.repository.js';
import { ZERO_STATS } from '../ports.js';
import type { MediaSigner } from './media.signer.js';

/**
 * Turns a video row into the contract's Video JSON: absolute URLs under PUBLIC_URL, signed (path token) for
 * private and unlisted videos, plain for public ones.
 */
export class VideoPresenter {
  constructor(
    private readonly publicUrl: string,
    private readonly signer: MediaSigner,
  ) {}

  uploadUrl(): string {
    return `${this.publicUrl}/api/v1/uploads`;
  }

  /** The URL of a media object key (`media/<id>/…`) of this video, or undefined for a key outside its folder. */
  mediaUrl(v: Pick<VideoRecord, 'id' | 'visibility'>, key: string | null, nowMs = Date.now()): string | undefined {
    const prefix = `media/${v.id}/`;
    if (!key || !key.startsWith(prefix) || key.length === prefix.length) return undefined;
    const path = key.split('/').map(encodeURIComponent).join('/');
    if (v.visibility === 'public') return `${this.publicUrl}/${path}`;
    return `${this.publicUrl}/media/s/${this.signer.token(v.id, nowMs)}/${path.slice('media/'.length)}`;
  }

  /**
   * What a public video looked like to anyone but its owner, per row object and stats object: rows come from the
   * cache and stats from the counters view as shared objects, replaced (not changed) when they change, so the same
   * pair gives the same JSON. The result is shared too: callers never change it.
   */
  private readonly publicViews = new WeakMap<VideoRecord, { stats: VideoStats | undefined; video: Video }>();

  toVideo(v: VideoRecord, opts: { isOwner: boolean; stats?: VideoStats; nowMs?: number }): Video {
    if (v.visibility !== 'public' || opts.isOwner) return this.render(v, opts);
    const held = this.publicViews.get(v);
    if (held && held.stats === opts.stats) return held.video;
    const video = this.render(v, opts);
    this.publicViews.set(v, { stats: opts.stats, video });
    return video;
  }

  private render(v: VideoRecord, opts: { isOwner: boolean; stats?: VideoStats; nowMs?: number }): Video {
    const out: Video = {
      id: v.id,
      title: v.title,
      description: v.description,
      tags: v.tags,
      visibility: v.visibility,
      state: v.state,
      channel: { id: v.channelId, handle: v.channelHandle, name: v.channelName },
      stats: opts.stats ?? { ...ZERO_STATS },
      createdAt: v.createdAt.toISOString(),
    };
    if (v.state === 'failed' && v.failureReason) out.failureReason = v.failureReason;
    if (v.state === 'processing') out.progress = v.progress ?? 0;
    if (v.durationSec !== null) out.durationSec = v.durationSec;
    if (v.width !== null) out.width = v.width;
    if (v.height !== null) out.height = v.height;
    if (v.state === 'ready') {
      const hls = this.mediaUrl(v, v.hlsKey, opts.nowMs);
      const dash = this.mediaUrl(v, v.dashKey, opts.nowMs);
      if (hls && dash) out.streams = { hls, dash };
      const thumbnail = this.mediaUrl(v, v.thumbnailKey, opts.nowMs);
      if (thumbnail) out.thumbnailUrl = thumbnail;
      const storyboard = this.mediaUrl(v, v.storyboardVttKey, opts.nowMs);
      if (storyboard) out.storyboardUrl = storyboard;
      if (v.renditions) out.renditions = v.renditions.map((r) => ({ height: r.height, bandwidth: r.bandwidth }));
    }
    if (v.publishedAt) out.publishedAt = v.publishedAt.toISOString();
    if (opts.isOwner && v.state === 'awaiting_upload') out.uploadUrl = this.uploadUrl();
    return out;
  }
}
