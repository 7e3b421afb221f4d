import type { Principal, Rating, RatingValue } from '@kinora/contracts';
import type { Database } from '@kinora/db';
import type { TransactionalPublisher } from '@kinora/events';
import { canSee, type VideoProjection } from '@kinora/projections';
import { likeErrors } from '../errors.js';
import { RATING_TOPIC, ratingChangedMessage } from '../events/rating.events.js';
import type { RatingRepository } from '../repositories/rating.repository.js';

const NOT_FOUND = 'No video with this id';

/** A user's one rating per video; every effective change publishes one event, in the same transaction. */
export class RatingService {
  constructor(
    private readonly deps: { database: Database; ratings: RatingRepository; videos: VideoProjection; publisher: TransactionalPublisher },
  ) {}

  async rate(principal: Principal, videoId: string, value: RatingValue): Promise<Rating> {
    // Only videos the caller can see take ratings (a private video of someone else is a 404).
    const video = await this.deps.videos.get(videoId, { primary: true });
    if (!canSee(video, principal.userId)) throw likeErrors.VIDEO_NOT_FOUND(NOT_FOUND);
    const changed = await this.deps.database.transaction(async (client) => {
      const previous = (await this.deps.ratings.lock(client, videoId, principal.userId, value !== 'none')) ?? 'none';
      if (previous === value) return false; // idempotent: nothing changes, nothing is published
      await this.deps.ratings.set(client, videoId, principal.userId, value);
      await this.deps.publisher.publish(client, RATING_TOPIC, [ratingChangedMessage(videoId, principal.userId, previous, value)]);
      return true;
    });
    if (changed) this.deps.publisher.committed();
    return { value };
  }

  async get(principal: Principal, videoId: string): Promise<Rating> {
    const video = await this.deps.videos.get(videoId);
    if (!canSee(video, principal.userId)) throw likeErrors.VIDEO_NOT_FOUND(NOT_FOUND);
    return { value: await this.deps.ratings.get(videoId, principal.userId) };
  }
}
