import { describe, expect, it } from '@jest/globals';
import { buildStoryboardVtt, vttTime } from './storyboard.builder.js';

describe('buildStoryboardVtt', () => {
  it('indexes tiles row by row across sheets, the last cue ending at the duration', () => {
    const vtt = buildStoryboardVtt({
      durationSec: 9.5,
      intervalSec: 2,
      tileWidth: 160,
      tileHeight: 90,
      columns: 2,
      rows: 2,
      tileCount: 5,
      sheetUri: (n) => `sprite_${n}.jpg`,
    });
    expect(vtt).toMatchSnapshot();
    expect(vtt).toContain('00:00:08.000 --> 00:00:09.500\nsprite_1.jpg#xywh=0,0,160,90');
  });
});

describe('vttTime', () => {
  it.each([
    [0, '00:00:00.000'],
    [1.0005, '00:00:01.001'],
    [59.9999, '00:01:00.000'],
    [3723.5, '01:02:03.500'],
    [36000, '10:00:00.000'],
  ])('%d → %s', (sec, text) => {
    expect(vttTime(sec)).toBe(text);
  });
});
