import { COMMENT_MAX_LENGTH } from '@kinora/contracts';

// C0 controls except \t and \n, DEL, C1 controls, and (as in chat) the bidirectional overrides and isolates, which
// can make a comment display as something it does not say ("txt.exe" shown as "exe.txt").
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;
// Lone UTF-16 surrogates cannot be stored (PostgreSQL text and jsonb refuse them).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Comment text as stored: plain text, line breaks normalised to `\n`, control characters other than `\n` and `\t`
 * and bidirectional overrides/isolates removed, surrounding white space trimmed. Nothing is escaped or
 * interpreted: clients render it as text.
 */
export function sanitizeCommentText(raw: string): string {
  return raw.replace(/\r\n?/g, '\n').replace(CONTROL, '').replace(LONE_SURROGATE, '').trim();
}

/** Why a sanitised text is refused, or null: empty, or longer than the limit (in Unicode code points). */
export function commentTextProblem(text: string): string | null {
  if (text.length === 0) return 'must not be empty';
  let n = 0;
  for (const _ of text) if (++n > COMMENT_MAX_LENGTH) return `must be at most ${COMMENT_MAX_LENGTH} characters`;
  return null;
}
