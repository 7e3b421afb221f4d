/**
 * WebVTT index of the storyboard sprite sheets: one cue per tile, pointing at the sheet with a media fragment
 * (`sprite_0.jpg#xywh=160,0,160,90`), the format players (video.js, Plyr, Vidstack, hls.js-based UIs) read for
 * seek-bar previews. Pure.
 */

export interface StoryboardVttInput {
  durationSec: number;
  intervalSec: number;
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  /** Tiles to index (one per interval). */
  tileCount: number;
  /** URI of sheet n relative to the VTT file. */
  sheetUri: (sheet: number) => string;
}

export function buildStoryboardVtt(input: StoryboardVttInput): string {
  const perSheet = input.columns * input.rows;
  const cues: string[] = ['WEBVTT', ''];
  for (let i = 0; i < input.tileCount; i++) {
    const start = i * input.intervalSec;
    if (start >= input.durationSec && i > 0) break;
    const end = Math.min((i + 1) * input.intervalSec, input.durationSec);
    const sheet = Math.floor(i / perSheet);
    const position = i % perSheet;
    const x = (position % input.columns) * input.tileWidth;
    const y = Math.floor(position / input.columns) * input.tileHeight;
    cues.push(
      `${vttTime(start)} --> ${vttTime(Math.max(end, start + 0.001))}`,
      `${input.sheetUri(sheet)}#xywh=${x},${y},${input.tileWidth},${input.tileHeight}`,
      '',
    );
  }
  return cues.join('\n');
}

/** 3723.5 → `01:02:03.500` */
export function vttTime(sec: number): string {
  const ms = Math.round(sec * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}
