import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@kinora/contracts';
import { chatErrorMessage, mergeMessages } from './Chat.js';

const msg = (id: string, at: number, text = id): ChatMessage => ({ id, author: { id: 'u', username: 'ann' }, text, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, at)).toISOString() });

describe('the chat panel', () => {
  it('explains refused messages in words', () => {
    expect(chatErrorMessage({ code: 'CHAT_RATE_LIMITED', message: 'Too many', retryAfterMs: 2300 })).toBe('You are sending messages too fast: wait 3 s and try again.');
    expect(chatErrorMessage({ code: 'CHAT_RATE_LIMITED', message: 'Too many' })).toBe('You are sending messages too fast: wait 1 s and try again.');
    expect(chatErrorMessage({ code: 'UNAUTHENTICATED', message: 'Sign in' })).toBe('Your session has ended: sign in again to chat.');
    expect(chatErrorMessage({ code: 'VALIDATION_FAILED', message: 'The message is empty', errors: [{ field: '/text', message: 'is empty once cleaned' }] })).toBe('The message is empty (is empty once cleaned)');
    expect(chatErrorMessage({ code: 'VIDEO_NOT_FOUND', message: 'No video with this id' })).toBe('No video with this id');
    expect(chatErrorMessage({ code: 'CHAT_TEXT_INVALID', message: 'The message is empty', errors: [{ field: '/text', message: 'The message is empty' }] })).toBe('The message is empty');
  });

  it('merges history, acknowledgements and pushes oldest first without duplicates', () => {
    const history = [msg('c', 3), msg('a', 1)];
    const merged = mergeMessages(mergeMessages([], history), [msg('b', 2), msg('c', 3, 'c again')]);
    expect(merged.map((m) => m.id)).toEqual(['a', 'b', 'c']);
    expect(merged[2]!.text).toBe('c again');
  });
});
