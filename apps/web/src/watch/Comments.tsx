import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { Comment, CommentRating } from '@kinora/contracts';
import { api, type Page } from '../api.js';
import { ErrorMessage, formatCount, Loading } from '../ui.js';
import { addComment, emptyTree, loadedPage, removeComment, replaceComment, type CommentTree } from './comment-tree.js';

/** What the comment section asks of the API (the real client by default; the component tests give their own). */
export interface CommentsApi {
  comments(videoId: string, sort: 'top' | 'new', cursor?: string | null): Promise<Page<Comment>>;
  replies(commentId: string, cursor?: string | null): Promise<Page<Comment>>;
  postComment(videoId: string, text: string, parentId?: string): Promise<Comment>;
  editComment(id: string, text: string): Promise<Comment>;
  deleteComment(id: string): Promise<void>;
  rateComment(id: string, value: 'like' | 'none'): Promise<CommentRating>;
}

export interface CommentsProps {
  videoId: string;
  /** The signed-in viewer (null: read only, with a prompt to sign in). */
  viewer: { id: string; channelId: string } | null;
  /** The video's channel: its owner may delete any comment. */
  channelId: string;
  /** Subscribes to the comments created live (`comment:new`); returns the unsubscribe. */
  subscribe?: ((onComment: (c: Comment) => void) => () => void) | undefined;
  client?: CommentsApi;
  /** Comment count shown in the heading. */
  total?: number | undefined;
}

interface Ctx {
  tree: CommentTree;
  props: Required<Pick<CommentsProps, 'videoId' | 'viewer' | 'channelId'>>;
  client: CommentsApi;
  update(f: (t: CommentTree) => CommentTree): void;
  liked: Set<string>;
  setLiked(id: string, on: boolean): void;
}

/** The nested comments of a video: sort (top/new), post, reply at any depth, edit, delete, likes, load more, live. */
export function Comments({ videoId, viewer, channelId, subscribe, client = api, total }: CommentsProps) {
  const [tree, setTree] = useState<CommentTree>(emptyTree);
  const [sort, setSort] = useState<'top' | 'new'>('top');
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [liked, setLikedSet] = useState<Set<string>>(new Set());
  const update = useCallback((f: (t: CommentTree) => CommentTree) => setTree(f), []);

  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    client.comments(videoId, sort).then(
      (page) => live && (setTree(loadedPage(emptyTree(), null, page, 'replace')), setLoading(false)),
      (err: unknown) => live && (setError(err), setLoading(false)),
    );
    return () => {
      live = false;
    };
  }, [videoId, sort, client]);

  useEffect(() => subscribe?.((c) => setTree((t) => addComment(t, c, 'live'))), [subscribe]);

  const loadMore = async () => {
    try {
      const page = await client.comments(videoId, sort, tree.rootCursor);
      setTree((t) => loadedPage(t, null, page, 'append'));
    } catch (err) {
      setError(err);
    }
  };

  const ctx: Ctx = {
    tree,
    props: { videoId, viewer, channelId },
    client,
    update,
    liked,
    setLiked: (id, on) =>
      setLikedSet((s) => {
        const n = new Set(s);
        if (on) n.add(id);
        else n.delete(id);
        return n;
      }),
  };

  return (
    <section className="comments" aria-labelledby="comments-heading">
      <div className="comments-head">
        <h2 id="comments-heading">Comments{total !== undefined ? ` (${formatCount(total)})` : ''}</h2>
        <label>
          Sort by{' '}
          <select aria-label="Sort comments" value={sort} onChange={(e) => setSort(e.target.value as 'top' | 'new')}>
            <option value="top">Top</option>
            <option value="new">Newest</option>
          </select>
        </label>
      </div>
      {viewer ? (
        <CommentForm label="Add a comment" submitLabel="Comment" onSubmit={async (text) => {
            const posted = await client.postComment(videoId, text);
            update((t) => addComment(t, posted, 'own'));
          }}
        />
      ) : (
        <p className="signin-prompt">Sign in to comment.</p>
      )}
      <ErrorMessage error={error} />
      {loading ? (
        <Loading label="Loading comments…" />
      ) : tree.roots.length === 0 && !error ? (
        <p className="empty">No comments yet.</p>
      ) : (
        <ul className="comment-list" aria-label="Comments">
          {tree.roots.map((id) => (
            <CommentItem key={id} id={id} ctx={ctx} />
          ))}
        </ul>
      )}
      {tree.rootCursor ? (
        <button type="button" className="link-button" onClick={() => void loadMore()}>
          Load more comments
        </button>
      ) : null}
    </section>
  );
}

function CommentForm({ label, submitLabel, initial = '', onSubmit, onCancel }: { label: string; submitLabel: string; initial?: string; onSubmit(text: string): Promise<void>; onCancel?: () => void }) {
  const [text, setText] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return setError(new Error('Write something first.'));
    setBusy(true);
    setError(null);
    try {
      await onSubmit(text);
      setText('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="comment-form" onSubmit={(e) => void submit(e)}>
      <textarea aria-label={label} placeholder={label} value={text} onChange={(e) => setText(e.target.value)} rows={2} maxLength={10_000} />
      <div className="form-actions">
        <button type="submit" disabled={busy}>
          {submitLabel}
        </button>
        {onCancel ? (
          <button type="button" className="link-button" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
      <ErrorMessage error={error} />
    </form>
  );
}

function CommentItem({ id, ctx }: { id: string; ctx: Ctx }) {
  const { tree, client, update, props } = ctx;
  const c = tree.byId[id];
  const [mode, setMode] = useState<'view' | 'reply' | 'edit'>('view');
  const [error, setError] = useState<unknown>(null);
  const [loadingReplies, setLoadingReplies] = useState(false);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );
  if (!c) return null;
  const children = tree.children[id];
  const own = props.viewer !== null && c.author?.id === props.viewer.id;
  const canDelete = !c.deleted && props.viewer !== null && (own || props.viewer.channelId === props.channelId);
  const liked = ctx.liked.has(id);

  const act = async (f: () => Promise<void>) => {
    setError(null);
    try {
      await f();
    } catch (err) {
      if (mounted.current) setError(err);
    }
  };
  const loadReplies = (cursor: string | null) =>
    act(async () => {
      setLoadingReplies(true);
      try {
        const page = await client.replies(id, cursor);
        update((t) => loadedPage(t, id, page, cursor ? 'append' : 'replace'));
      } finally {
        if (mounted.current) setLoadingReplies(false);
      }
    });
  const shownReplies = children?.ids.length ?? 0;

  return (
    <li className={`comment${c.deleted ? ' deleted' : ''}`} data-comment-id={id} aria-label={c.deleted ? 'Deleted comment' : `Comment by ${c.author?.displayName ?? 'someone'}`}>
      <div className="comment-head">
        <span className="comment-author">{c.deleted ? '[deleted]' : (c.author?.displayName ?? '')}</span>
        <time dateTime={c.createdAt}>{new Date(c.createdAt).toLocaleString()}</time>
        {c.editedAt && !c.deleted ? <span className="edited">(edited)</span> : null}
      </div>
      {mode === 'edit' ? (
        <CommentForm
          label="Edit your comment"
          submitLabel="Save"
          initial={c.text}
          onCancel={() => setMode('view')}
          onSubmit={async (text) => {
            const edited = await client.editComment(id, text);
            update((t) => replaceComment(t, edited));
            setMode('view');
          }}
        />
      ) : (
        <p className="comment-text">{c.deleted ? 'This comment was deleted.' : c.text}</p>
      )}
      {!c.deleted ? (
        <div className="comment-actions">
          <button
            type="button"
            aria-pressed={liked}
            aria-label={`Like comment (${c.likes} likes)`}
            disabled={!props.viewer}
            onClick={() =>
              void act(async () => {
                const r = await client.rateComment(id, liked ? 'none' : 'like');
                ctx.setLiked(id, r.value === 'like');
                update((t) => replaceComment(t, { ...t.byId[id]!, likes: r.likes }));
              })
            }
          >
            ▲ <span data-testid="comment-likes">{formatCount(c.likes)}</span>
          </button>
          {props.viewer ? (
            <button type="button" onClick={() => setMode(mode === 'reply' ? 'view' : 'reply')} aria-expanded={mode === 'reply'}>
              Reply
            </button>
          ) : null}
          {own ? (
            <button type="button" onClick={() => setMode('edit')}>
              Edit
            </button>
          ) : null}
          {canDelete ? (
            <button
              type="button"
              onClick={() =>
                void act(async () => {
                  await client.deleteComment(id);
                  update((t) => removeComment(t, id));
                })
              }
            >
              Delete
            </button>
          ) : null}
        </div>
      ) : null}
      <ErrorMessage error={error} />
      {mode === 'reply' ? (
        <CommentForm
          label={`Reply to ${c.author?.displayName ?? 'comment'}`}
          submitLabel="Reply"
          onCancel={() => setMode('view')}
          onSubmit={async (text) => {
            const reply = await client.postComment(props.videoId, text, id);
            update((t) => addComment(t, reply, 'own'));
            setMode('view');
          }}
        />
      ) : null}
      {c.replyCount > 0 && !children?.loaded ? (
        <button type="button" className="link-button" onClick={() => void loadReplies(null)} disabled={loadingReplies}>
          {loadingReplies ? 'Loading replies…' : `Show ${c.replyCount} ${c.replyCount === 1 ? 'reply' : 'replies'}`}
        </button>
      ) : null}
      {shownReplies > 0 ? (
        <ul className="comment-list replies" aria-label={`Replies to ${c.deleted ? 'deleted comment' : (c.author?.displayName ?? 'comment')}`}>
          {children!.ids.map((rid) => (
            <CommentItem key={rid} id={rid} ctx={ctx} />
          ))}
        </ul>
      ) : null}
      {children?.loaded && children.cursor ? (
        <button type="button" className="link-button" onClick={() => void loadReplies(children.cursor)} disabled={loadingReplies}>
          More replies
        </button>
      ) : null}
    </li>
  );
}
