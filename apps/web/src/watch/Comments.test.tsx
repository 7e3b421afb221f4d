import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Comment } from '@kinora/contracts';
import { ApiError, type Page } from '../api.js';
import { Comments, type CommentsApi } from './Comments.js';

afterEach(cleanup);

const VIDEO = '0190c0de-0000-7000-8000-00000000000v';
const ME = { id: 'u-me', channelId: 'ch-me' };
const OTHER = { id: 'u-other', username: 'other', displayName: 'Other Person' };

/** An in-memory comment service with the API's rules: pages of 2, replies oldest first, tombstones. */
class FakeComments implements CommentsApi {
  seq = 0;
  all: Comment[] = [];
  calls: string[] = [];
  failNextPost: ApiError | null = null;

  add(text: string, author = OTHER, parentId: string | null = null, likes = 0): Comment {
    const c: Comment = { id: `c${++this.seq}`, author, text, likes, replyCount: 0, parentId, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, this.seq)).toISOString(), deleted: false };
    this.all.push(c);
    if (parentId) this.all.find((p) => p.id === parentId)!.replyCount++;
    return c;
  }
  private page(list: Comment[], cursor?: string | null): Page<Comment> {
    const start = cursor ? Number(cursor) : 0;
    return { items: list.slice(start, start + 2).map((c) => ({ ...c })), nextCursor: start + 2 < list.length ? String(start + 2) : null };
  }
  async comments(_v: string, sort: 'top' | 'new', cursor?: string | null) {
    this.calls.push(`list ${sort} ${cursor ?? ''}`);
    const roots = this.all.filter((c) => c.parentId === null);
    return this.page(sort === 'new' ? [...roots].reverse() : [...roots].sort((a, b) => b.likes - a.likes), cursor);
  }
  async replies(id: string, cursor?: string | null) {
    this.calls.push(`replies ${id} ${cursor ?? ''}`);
    return this.page(this.all.filter((c) => c.parentId === id), cursor);
  }
  async postComment(_v: string, text: string, parentId?: string) {
    if (this.failNextPost) {
      const e = this.failNextPost;
      this.failNextPost = null;
      throw e;
    }
    return { ...this.add(text, { id: ME.id, username: 'me', displayName: 'Me Myself' }, parentId ?? null) };
  }
  async editComment(id: string, text: string) {
    const c = this.all.find((x) => x.id === id)!;
    Object.assign(c, { text, editedAt: new Date().toISOString() });
    return { ...c };
  }
  async deleteComment(id: string) {
    this.calls.push(`delete ${id}`);
  }
  async rateComment(id: string, value: 'like' | 'none') {
    const c = this.all.find((x) => x.id === id)!;
    c.likes += value === 'like' ? 1 : -1;
    return { value, likes: c.likes };
  }
}

const item = (text: string) => screen.getByText(text).closest('li') as HTMLElement;

describe('the comment tree', () => {
  it('says when there are no comments, and asks signed-out viewers to sign in', async () => {
    render(<Comments videoId={VIDEO} viewer={null} channelId="ch-x" client={new FakeComments()} />);
    await screen.findByText('No comments yet.');
    expect(screen.getByText('Sign in to comment.')).toBeTruthy();
    expect(screen.queryByLabelText('Add a comment')).toBeNull();
  });

  it('lists top comments, loads more with the cursor and re-sorts by newest', async () => {
    const api = new FakeComments();
    api.add('first', OTHER, null, 1);
    api.add('second', OTHER, null, 5);
    api.add('third', OTHER, null, 3);
    render(<Comments videoId={VIDEO} viewer={ME} channelId="ch-x" client={api} />);
    await screen.findByText('second');
    const texts = () => [...document.querySelectorAll('.comment-text')].map((e) => e.textContent);
    expect(texts()).toEqual(['second', 'third']);
    fireEvent.click(screen.getByRole('button', { name: 'Load more comments' }));
    await screen.findByText('first');
    expect(texts()).toEqual(['second', 'third', 'first']);
    expect(screen.queryByRole('button', { name: 'Load more comments' })).toBeNull();
    fireEvent.change(screen.getByLabelText('Sort comments'), { target: { value: 'new' } });
    await waitFor(() => expect(texts()).toEqual(['third', 'second']));
    expect(api.calls).toEqual(['list top ', 'list top 2', 'list new ']);
  });

  it('posts, replies at any depth, opens replies page by page, edits and deletes (tombstone when it has replies)', async () => {
    const api = new FakeComments();
    const root = api.add('a question');
    for (const t of ['r1', 'r2', 'r3']) api.add(t, OTHER, root.id);
    render(<Comments videoId={VIDEO} viewer={ME} channelId="ch-x" client={api} />);
    await screen.findByText('a question');

    // Replies: 2 per page, then the rest.
    fireEvent.click(screen.getByRole('button', { name: 'Show 3 replies' }));
    await screen.findByText('r2');
    expect(screen.queryByText('r3')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'More replies' }));
    await screen.findByText('r3');

    // A new top-level comment goes first.
    fireEvent.change(screen.getByLabelText('Add a comment'), { target: { value: 'my comment' } });
    fireEvent.click(screen.getByRole('button', { name: 'Comment' }));
    await screen.findByText('my comment');
    expect(document.querySelector('.comment-text')?.textContent).toBe('my comment');

    // Reply to a reply, then to that reply: three levels deep.
    fireEvent.click(within(item('r1')).getByRole('button', { name: 'Reply' }));
    fireEvent.change(screen.getByLabelText('Reply to Other Person'), { target: { value: 'deep 1' } });
    fireEvent.submit(item('r1').querySelector('form')!);
    await screen.findByText('deep 1');
    fireEvent.click(within(item('deep 1')).getByRole('button', { name: 'Reply' }));
    fireEvent.change(screen.getByLabelText('Reply to Me Myself'), { target: { value: 'deep 2' } });
    fireEvent.submit(item('deep 1').querySelector('form')!);
    await screen.findByText('deep 2');
    expect(item('deep 2').parentElement?.closest('li')).toBe(item('deep 1'));
    expect(item('deep 1').parentElement?.closest('li')).toBe(item('r1'));
    expect(item('r1').parentElement?.closest('li')).toBe(item('a question'));

    // Only my own comments can be edited.
    expect(within(item('r2')).queryByRole('button', { name: 'Edit' })).toBeNull();
    fireEvent.click(within(item('deep 2')).getByRole('button', { name: 'Edit' }));
    fireEvent.change(screen.getByLabelText('Edit your comment'), { target: { value: 'deep 2, edited' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('deep 2, edited');
    expect(within(item('deep 2, edited')).getByText('(edited)')).toBeTruthy();

    // Deleting one with a reply leaves a tombstone; deleting a leaf removes it.
    fireEvent.click(within(item('deep 1')).getAllByRole('button', { name: 'Delete' })[0]!);
    await waitFor(() => expect(screen.queryByText('deep 1')).toBeNull());
    const tomb = screen.getByText('This comment was deleted.').closest('li')!;
    expect(within(tomb).getByText('deep 2, edited')).toBeTruthy();
    fireEvent.click(within(item('my comment')).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(screen.queryByText('my comment')).toBeNull());
    expect(api.calls.filter((c) => c.startsWith('delete'))).toHaveLength(2);
  });

  it('likes and unlikes a comment with the count the API answers', async () => {
    const api = new FakeComments();
    api.add('likeable', OTHER, null, 2);
    render(<Comments videoId={VIDEO} viewer={ME} channelId="ch-x" client={api} />);
    await screen.findByText('likeable');
    const like = within(item('likeable')).getByRole('button', { name: /Like comment/ });
    fireEvent.click(like);
    await waitFor(() => expect(like.getAttribute('aria-pressed')).toBe('true'));
    expect(within(item('likeable')).getByTestId('comment-likes').textContent).toBe('3');
    fireEvent.click(like);
    await waitFor(() => expect(like.getAttribute('aria-pressed')).toBe('false'));
    expect(within(item('likeable')).getByTestId('comment-likes').textContent).toBe('2');
  });

  it('adds comments pushed live once, replies under their parent', async () => {
    const api = new FakeComments();
    const parent = api.add('parent');
    let push: ((c: Comment) => void) | undefined;
    const subscribe = (f: (c: Comment) => void) => {
      push = f;
      return () => {
        push = undefined;
      };
    };
    render(<Comments videoId={VIDEO} viewer={null} channelId="ch-x" client={api} subscribe={subscribe} />);
    await screen.findByText('parent');
    const live = api.add('live one');
    act(() => push!(live));
    act(() => push!(live));
    expect(screen.getAllByText('live one')).toHaveLength(1);
    act(() => push!(api.add('live reply', OTHER, parent.id)));
    expect(item('live reply').parentElement?.closest('li')).toBe(item('parent'));
  });

  it('shows API problems readably: a refused post keeps the text, a failed load says so', async () => {
    const api = new FakeComments();
    render(<Comments videoId={VIDEO} viewer={ME} channelId="ch-x" client={api} />);
    await screen.findByText('No comments yet.');
    api.failNextPost = new ApiError(400, 'The comment is empty (/body/text: must not be blank)');
    fireEvent.change(screen.getByLabelText('Add a comment'), { target: { value: '   x' } });
    fireEvent.click(screen.getByRole('button', { name: 'Comment' }));
    expect((await screen.findByRole('alert')).textContent).toBe('The comment is empty (/body/text: must not be blank)');
    expect((screen.getByLabelText('Add a comment') as HTMLTextAreaElement).value).toBe('   x');
    cleanup();

    class Offline extends FakeComments {
      override async comments(): Promise<Page<Comment>> {
        throw new ApiError(0, 'Cannot reach Kinora: check your connection and try again.');
      }
    }
    const broken = new Offline();
    render(<Comments videoId={VIDEO} viewer={ME} channelId="ch-x" client={broken} />);
    expect((await screen.findByRole('alert')).textContent).toBe('Cannot reach Kinora: check your connection and try again.');
  });

  it('refuses an empty comment without calling the API', async () => {
    const api = new FakeComments();
    render(<Comments videoId={VIDEO} viewer={ME} channelId="ch-x" client={api} />);
    await screen.findByText('No comments yet.');
    fireEvent.click(screen.getByRole('button', { name: 'Comment' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Write something first.');
    expect(api.all).toHaveLength(0);
  });
});
