import { describe, expect, it } from '@jest/globals';
import { cleanChatText } from './chat-text.js';

describe('cleanChatText', () => {
  it('trims and keeps ordinary text, emoji and other scripts', () => {
    expect(cleanChatText('  hello 👋🏽 мир  ')).toEqual({ ok: true, text: 'hello 👋🏽 мир' });
  });

  it('strips control characters and turns line breaks into spaces', () => {
    expect(cleanChatText('a\u0000b\u0007c\u001b[31m\u009bd')).toEqual({ ok: true, text: 'abc[31md' });
    expect(cleanChatText('line one\r\nline two\tend')).toEqual({ ok: true, text: 'line one line two end' });
  });

  it('strips bidirectional overrides', () => {
    expect(cleanChatText('abc\u202Egpj.exe')).toEqual({ ok: true, text: 'abcgpj.exe' });
  });

  it('refuses a message that is empty after cleaning', () => {
    expect(cleanChatText('')).toMatchObject({ ok: false });
    expect(cleanChatText(' \u0000\n\t ')).toMatchObject({ ok: false });
  });

  it('counts code points: 500 astral characters pass, 501 do not', () => {
    expect(cleanChatText('😀'.repeat(500))).toMatchObject({ ok: true });
    expect(cleanChatText('😀'.repeat(501))).toMatchObject({ ok: false, reason: expect.stringMatching(/500/) });
    expect(cleanChatText(`  ${'x'.repeat(500)}  `)).toMatchObject({ ok: true });
  });
});
