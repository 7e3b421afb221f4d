import { describe, expect, it } from 'vitest';
import { keyAction, formatTime } from './keys.js';
import { cueAt, parseStoryboard } from './storyboard.js';

const m = { currentTime: 30, duration: 100, volume: 0.5 };

describe('player keyboard controls', () => {
  it('maps the keys to actions', () => {
    expect(keyAction(' ', m)).toEqual({ type: 'toggle' });
    expect(keyAction('k', m)).toEqual({ type: 'toggle' });
    expect(keyAction('j', m)).toEqual({ type: 'seek', to: 20 });
    expect(keyAction('l', m)).toEqual({ type: 'seek', to: 40 });
    expect(keyAction('ArrowLeft', m)).toEqual({ type: 'seek', to: 25 });
    expect(keyAction('ArrowRight', m)).toEqual({ type: 'seek', to: 35 });
    expect(keyAction('ArrowUp', m)).toEqual({ type: 'volume', to: 0.6 });
    expect(keyAction('ArrowDown', m)).toEqual({ type: 'volume', to: 0.4 });
    expect(keyAction('m', m)).toEqual({ type: 'mute' });
    expect(keyAction('f', m)).toEqual({ type: 'fullscreen' });
    expect(keyAction('0', m)).toEqual({ type: 'seek', to: 0 });
    expect(keyAction('7', m)).toEqual({ type: 'seek', to: 70 });
  });

  it('keeps seeks and volume in range and leaves other keys and shortcuts alone', () => {
    expect(keyAction('j', { ...m, currentTime: 4 })).toEqual({ type: 'seek', to: 0 });
    expect(keyAction('l', { ...m, currentTime: 95 })).toEqual({ type: 'seek', to: 100 });
    expect(keyAction('ArrowUp', { ...m, volume: 0.97 })).toEqual({ type: 'volume', to: 1 });
    expect(keyAction('ArrowDown', { ...m, volume: 0.02 })).toEqual({ type: 'volume', to: 0 });
    // Unknown duration (metadata not loaded): no percentage jumps.
    expect(keyAction('5', { ...m, duration: NaN })).toBeNull();
    expect(keyAction('x', m)).toBeNull();
    expect(keyAction('k', m, { ctrl: true })).toBeNull();
  });

  it('formats times', () => {
    expect(formatTime(0)).toBe('0:00');
    expect(formatTime(65.4)).toBe('1:05');
    expect(formatTime(3725)).toBe('1:02:05');
    expect(formatTime(NaN)).toBe('0:00');
  });
});

describe('storyboard index', () => {
  const vtt = 'WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nsprite_0.jpg#xywh=0,0,160,90\n\n00:00:02.000 --> 00:00:04.000\nsprite_0.jpg#xywh=160,0,160,90\n\nbroken\n00:00:04.000 --> 00:00:06.000\nno-fragment.jpg\n\n00:01:04.000 --> 00:01:06.000\nsprite_1.jpg#xywh=0,90,160,90\n';
  const base = 'http://k.test/media/s/tok/vid/storyboard/index.vtt';

  it('reads the cues with sprite URLs relative to the index, skipping malformed ones', () => {
    const cues = parseStoryboard(vtt, base);
    expect(cues).toEqual([
      { start: 0, end: 2, url: 'http://k.test/media/s/tok/vid/storyboard/sprite_0.jpg', x: 0, y: 0, w: 160, h: 90 },
      { start: 2, end: 4, url: 'http://k.test/media/s/tok/vid/storyboard/sprite_0.jpg', x: 160, y: 0, w: 160, h: 90 },
      { start: 64, end: 66, url: 'http://k.test/media/s/tok/vid/storyboard/sprite_1.jpg', x: 0, y: 90, w: 160, h: 90 },
    ]);
    expect(cueAt(cues, 2.5)?.x).toBe(160);
    expect(cueAt(cues, 0)?.x).toBe(0);
    expect(cueAt(cues, 100)?.start).toBe(64);
    expect(parseStoryboard('', base)).toEqual([]);
  });
});
