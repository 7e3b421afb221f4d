// Storyboard previews: the transcoder writes a WebVTT index whose cues name a region of a sprite image
// (`sprite_0.jpg#xywh=x,y,w,h`, relative to the index). The seek bar shows the region under the pointer.

export interface StoryboardCue {
  start: number;
  end: number;
  /** Absolute URL of the sprite image. */
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

function seconds(ts: string): number {
  const parts = ts.trim().split(':').map(Number);
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

/** The cues of a storyboard index; malformed cues are skipped. */
export function parseStoryboard(vtt: string, baseUrl: string): StoryboardCue[] {
  const cues: StoryboardCue[] = [];
  const blocks = vtt.replace(/\r\n?/g, '\n').split(/\n\n+/);
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    const timing = lines.findIndex((l) => l.includes('-->'));
    if (timing < 0 || !lines[timing + 1]) continue;
    const [from, to] = lines[timing]!.split('-->');
    const m = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)\s*$/.exec(lines[timing + 1]!.trim());
    if (!m || from === undefined || to === undefined) continue;
    const start = seconds(from);
    const end = seconds(to.trim().split(/\s+/)[0]!);
    if (!Number.isFinite(start) || !Number.isFinite(end)) continue;
    let url: string;
    try {
      url = new URL(m[1]!, baseUrl).toString();
    } catch {
      continue;
    }
    cues.push({ start, end, url, x: Number(m[2]), y: Number(m[3]), w: Number(m[4]), h: Number(m[5]) });
  }
  return cues;
}

/** The cue shown for a time (the last one before it when the time is past the end). */
export function cueAt(cues: readonly StoryboardCue[], t: number): StoryboardCue | undefined {
  let found: StoryboardCue | undefined;
  for (const c of cues) {
    if (c.start <= t) found = c;
    if (t < c.end) break;
  }
  return found;
}
