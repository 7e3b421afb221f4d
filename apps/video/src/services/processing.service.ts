import type { TranscodeFailedV1, TranscodeProgressV1, TranscodeSucceededV1 } from '@kinora/contracts';
import type { Database } from '@kinora/db';
import type { ObjectStore } from '@kinora/storage';
import { VIDEO_SERVICE_ACTOR, type LifecyclePublisher } from '../events/lifecycle.events.js';
import { partsPrefix, uploadKey, type ObjectStoreDataStore } from '../repositories/object-store.datastore.js';
import type { UploadRepository } from '../repositories/upload.repository.js';
import type { VideoPatch, VideoRepository } from '../repositories/video.repository.js';
import type { ServiceLogger, VideoChangedHook, VideoService } from './video.service.js';

const MAX_REASON = 2000;

export interface ProcessingServiceDeps {
  db: Database;
  videos: VideoRepository;
  uploads: UploadRepository;
  datastore: ObjectStoreDataStore;
  events: LifecyclePublisher;
  store: ObjectStore;
  videoService: VideoService;
  logger: ServiceLogger;
  /** Told after a change commits, so cached copies are dropped. */
  onChanged?: VideoChangedHook;
}

/**
 * The video's way from upload to playback: a finished upload moves it to `processing` and asks for a transcode;
 * the transcoder's reports move it on. Every handler is idempotent (a redelivered or stale event changes nothing).
 */
export class ProcessingService {
  constructor(private readonly d: ProcessingServiceDeps) {}

  /** All bytes are in: assemble the source, then `awaiting_upload` → `processing` with VideoUploaded.v1. */
  async completeUpload(videoId: string): Promise<void> {
    const upload = await this.d.uploads.find(videoId);
    if (!upload || upload.offset !== upload.size) throw new Error(`upload ${videoId} is not complete`);
    if (!upload.completedAt) await this.d.datastore.assemble(videoId, upload.size);
    await this.d.db.transaction(async (client) => {
      const v = await this.d.videos.lock(client, videoId);
      if (!v || v.deletedAt || v.state !== 'awaiting_upload') return;
      await this.d.uploads.markCompleted(client, videoId);
      const updated = await this.d.videos.update(client, videoId, { state: 'processing', progress: 0, failureReason: null });
      await this.d.events.uploaded(
        client,
        updated,
        { videoId, sourceKey: uploadKey(videoId), sizeBytes: upload.size, outputPrefix: `media/${videoId}/` },
        { type: 'user', id: v.ownerId },
      );
    });
    this.d.events.committed();
    await this.d.onChanged?.(videoId, { feeds: false });
    await this.d.store.deletePrefix(partsPrefix(videoId)).catch((err: unknown) => this.d.logger.warn({ err, videoId }, 'could not remove upload parts'));
  }

  /** Completes uploads whose last bytes arrived just before the process stopped. */
  async recoverStrandedUploads(): Promise<void> {
    for (const videoId of await this.d.uploads.findStranded()) {
      try {
        await this.completeUpload(videoId);
        this.d.logger.info({ videoId }, 'completed an upload left unfinished by a restart');
      } catch (err) {
        this.d.logger.error({ err, videoId }, 'could not complete a stranded upload');
      }
    }
  }

  /** Progress only matters while processing; it is not part of the lifecycle snapshot (no event, no version). */
  async progress(e: TranscodeProgressV1): Promise<void> {
    const { rowCount } = await this.d.db.execute(
      `UPDATE videos.videos SET progress = $2, updated_at = now()
       WHERE id = $1 AND state = 'processing' AND deleted_at IS NULL AND (progress IS NULL OR progress < $2)`,
      [e.videoId, Math.min(1, Math.max(0, e.progress))],
    );
    if (rowCount) await this.d.onChanged?.(e.videoId, { feeds: false });
  }

  async succeeded(e: TranscodeSucceededV1): Promise<void> {
    const prefix = `media/${e.videoId}/`;
    for (const key of [e.hlsKey, e.dashKey, e.thumbnailKey, e.storyboardVttKey]) {
      if (key !== null && !key.startsWith(prefix)) {
        this.d.logger.error({ videoId: e.videoId, key }, 'TranscodeSucceeded names a key outside the video folder; ignored');
        return;
      }
    }
    let channelId: string | undefined;
    const orphaned = await this.d.db.transaction(async (client) => {
      const v = await this.d.videos.lock(client, e.videoId);
      if (!v) return false;
      channelId = v.channelId;
      if (v.deletedAt) return true;
      // A redelivery, or a report about an upload that was replaced: nothing to do.
      if (v.state !== 'processing' && v.state !== 'failed') return false;
      const patch: VideoPatch = {
        state: 'ready',
        progress: null,
        failureReason: null,
        durationSec: e.durationSec,
        width: e.width,
        height: e.height,
        renditions: e.renditions,
        hlsKey: e.hlsKey,
        dashKey: e.dashKey,
        thumbnailKey: e.thumbnailKey,
        storyboardVttKey: e.storyboardVttKey,
      };
      if (v.publishedAt === null && v.visibility !== 'private') patch.publishedAt = new Date();
      const updated = await this.d.videos.update(client, e.videoId, patch);
      await this.d.events.changed(client, updated, VIDEO_SERVICE_ACTOR);
      return false;
    });
    this.d.events.committed();
    await this.d.onChanged?.(e.videoId, channelId !== undefined ? { channelId } : {});
    // The video was deleted while it was being transcoded: the outputs arrived after the media was removed.
    if (orphaned) await this.d.videoService.removeMedia(e.videoId);
  }

  async failed(e: TranscodeFailedV1): Promise<void> {
    await this.d.db.transaction(async (client) => {
      const v = await this.d.videos.lock(client, e.videoId);
      if (!v || v.deletedAt || v.state !== 'processing') return;
      const reason = e.reason.trim().slice(0, MAX_REASON) || 'The file could not be processed';
      const updated = await this.d.videos.update(client, e.videoId, { state: 'failed', progress: null, failureReason: reason });
      await this.d.events.changed(client, updated, VIDEO_SERVICE_ACTOR);
    });
    this.d.events.committed();
    await this.d.onChanged?.(e.videoId, { feeds: false });
  }
}
