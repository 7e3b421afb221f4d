import { describe, expect, it } from '@jest/globals';
import { commentTextProblem, sanitizeCommentText } from './comment.text.js';

describe('sanitizeCommentText', () => {
  it('keeps line breaks and tabs, drops other control characters and trims', () => {
    expect(sanitizeCommentText('  a\tb\r\nc\rd\u0000e\u0007f\u001bg\u007fh\u0085i\n ')).toBe('a\tb\nc\ndefghi');
  });

  it('drops bidirectional overrides and isolates (display spoofing), keeps other formatting characters', () => {
    expect(sanitizeCommentText('see \u202Eexe.txt\u202C and \u2066x\u2069 \u200Dy')).toBe('see exe.txt and x \u200Dy');
  });

  it('leaves markup alone: it is text, never interpreted', () => {
    expect(sanitizeCommentText('<script>alert(1)</script> &amp; <b>x</b>')).toBe('<script>alert(1)</script> &amp; <b>x</b>');
  });

  it('keeps emoji and other astral characters but drops lone surrogates', () => {
    expect(sanitizeCommentText('ok 👍🏽 \uD800 \uDC00 x')).toBe('ok 👍🏽   x');
  });
});

describe('commentTextProblem', () => {
  it('refuses empty text and text over 10,000 code points', () => {
    expect(commentTextProblem('')).toBe('must not be empty');
    expect(commentTextProblem('x'.repeat(10_000))).toBeNull();
    expect(commentTextProblem('👍'.repeat(10_000))).toBeNull(); // 20,000 UTF-16 units, 10,000 characters
    expect(commentTextProblem('x'.repeat(10_001))).toMatch(/at most 10000/);
  });
});
