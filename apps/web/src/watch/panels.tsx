// The watch page's panels below and beside the player (comments, chat, related videos): one chunk of their own,
// loaded once playback has started, so the JavaScript before the first frame stays small.
import type { Comment, Video } from '@kinora/contracts';
import { Chat } from './Chat.js';
import { Comments } from './Comments.js';
import type { RealtimeSocket } from './realtime.js';
import { Related } from './Related.js';

export function CommentsPanel(props: {
  videoId: string;
  viewer: { id: string; channelId: string } | null;
  channelId: string;
  subscribe: (onComment: (c: Comment) => void) => () => void;
  total: number;
}) {
  return <Comments {...props} />;
}

export function SidePanel({ video, socket, signedIn }: { video: Video; socket: RealtimeSocket | null; signedIn: boolean }) {
  return (
    <>
      <Chat videoId={video.id} socket={socket} signedIn={signedIn} />
      <Related video={video} />
    </>
  );
}
