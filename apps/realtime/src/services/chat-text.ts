import { CHAT_MESSAGE_MAX_CHARS } from '@kinora/contracts';

// Line breaks and tabs become spaces (chat is one line); every other control character (C0, DEL, C1) goes, and so
// do the bidirectional overrides and isolates, which can make a message display as something it does not say.
const WHITESPACE_CONTROLS = /[\t\n\v\f\r\u0085\u2028\u2029]+/g;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export type ChatTextResult = { ok: true; text: string } | { ok: false; reason: string };

/** Cleans a chat message and checks its length: 1–500 characters (code points) after cleaning and trimming. */
export function cleanChatText(raw: string): ChatTextResult {
  const text = raw.replace(WHITESPACE_CONTROLS, ' ').replace(CONTROLS, '').trim();
  if (text.length === 0) return { ok: false, reason: 'The message is empty' };
  let chars = 0;
  for (const _ of text) {
    if (++chars > CHAT_MESSAGE_MAX_CHARS) return { ok: false, reason: `The message is longer than ${CHAT_MESSAGE_MAX_CHARS} characters` };
  }
  return { ok: true, text };
}
