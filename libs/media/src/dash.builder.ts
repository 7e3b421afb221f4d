/**
 * DASH MPD over the same fMP4 files as HLS: each Representation points at the rendition's init segment and its
 * `seg_<n>.m4s` files with a SegmentTemplate (`$Number$`) and a SegmentTimeline whose durations come from the media
 * playlists, so HLS and DASH players fetch identical bytes (one copy in storage, one copy in CDN caches). Pure.
 */

export interface DashSegment {
  /** URI relative to the MPD. */
  uri: string;
  durationSec: number;
}

export interface DashRepresentationInput {
  id: string;
  /** Peak segment bitrate of this track alone, bits/s. */
  bandwidth: number;
  codecs: string;
  initUri: string;
  segments: DashSegment[];
}

export interface DashVideoRepresentation extends DashRepresentationInput {
  width: number;
  height: number;
  /** `30`, `30000/1001`. */
  frameRate: string;
}

export interface DashAudioRepresentation extends DashRepresentationInput {
  channels: number;
  sampleRate: number;
}

export interface MpdInput {
  durationSec: number;
  /** Longest segment; used as minBufferTime. */
  maxSegmentSec: number;
  video: DashVideoRepresentation[];
  audio: DashAudioRepresentation[];
  language?: string;
}

/** Milliseconds: segment durations from the playlists have microsecond precision, players need no finer. */
export const MPD_TIMESCALE = 1000;

export function buildMpd(input: MpdInput): string {
  if (input.video.length === 0) throw new Error('an MPD needs at least one video representation');
  const all = [...input.video, ...input.audio];
  const allTemplates = all.every((r) => numberTemplate(r.segments.map((s) => s.uri)) !== null);
  const profile = allTemplates ? 'urn:mpeg:dash:profile:isoff-live:2011' : 'urn:mpeg:dash:profile:isoff-main:2011';

  const lines: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="${profile}" type="static" ` +
      `mediaPresentationDuration="${isoDuration(input.durationSec)}" minBufferTime="${isoDuration(input.maxSegmentSec)}">`,
    '  <Period id="0" start="PT0S">',
  ];

  const video = [...input.video].sort((a, b) => a.bandwidth - b.bandwidth);
  const maxWidth = Math.max(...video.map((v) => v.width));
  const maxHeight = Math.max(...video.map((v) => v.height));
  lines.push(
    `    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1" ` +
      `maxWidth="${maxWidth}" maxHeight="${maxHeight}" frameRate="${attr(video[0]!.frameRate)}">`,
  );
  for (const v of video) {
    lines.push(
      `      <Representation id="${attr(v.id)}" bandwidth="${Math.round(v.bandwidth)}" codecs="${attr(v.codecs)}" ` +
        `width="${v.width}" height="${v.height}" sar="1:1" frameRate="${attr(v.frameRate)}">`,
      ...segmentInformation(v, '        '),
      '      </Representation>',
    );
  }
  lines.push('    </AdaptationSet>');

  if (input.audio.length > 0) {
    lines.push(
      `    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="${attr(input.language ?? 'und')}" ` +
        'segmentAlignment="true" startWithSAP="1">',
    );
    for (const a of [...input.audio].sort((x, y) => x.bandwidth - y.bandwidth)) {
      lines.push(
        `      <Representation id="${attr(a.id)}" bandwidth="${Math.round(a.bandwidth)}" codecs="${attr(a.codecs)}" ` +
          `audioSamplingRate="${a.sampleRate}">`,
        `        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${a.channels}"/>`,
        ...segmentInformation(a, '        '),
        '      </Representation>',
      );
    }
    lines.push('    </AdaptationSet>');
  }
  lines.push('  </Period>', '</MPD>');
  return lines.join('\n') + '\n';
}

/** SegmentTemplate + SegmentTimeline when the URIs are `<prefix><n><suffix>` with consecutive n, else SegmentList. */
function segmentInformation(rep: DashRepresentationInput, indent: string): string[] {
  if (rep.segments.length === 0) throw new Error(`representation ${rep.id} has no segments`);
  const timeline = segmentTimeline(rep.segments.map((s) => s.durationSec));
  const template = numberTemplate(rep.segments.map((s) => s.uri));
  if (template) {
    return [
      `${indent}<SegmentTemplate timescale="${MPD_TIMESCALE}" initialization="${attr(escapeTemplate(rep.initUri))}" ` +
        `media="${attr(escapeTemplate(template.prefix) + '$Number$' + escapeTemplate(template.suffix))}" startNumber="${template.startNumber}">`,
      `${indent}  <SegmentTimeline>`,
      ...timeline.map((s) => `${indent}    ${s}`),
      `${indent}  </SegmentTimeline>`,
      `${indent}</SegmentTemplate>`,
    ];
  }
  return [
    `${indent}<SegmentList timescale="${MPD_TIMESCALE}">`,
    `${indent}  <Initialization sourceURL="${attr(rep.initUri)}"/>`,
    `${indent}  <SegmentTimeline>`,
    ...timeline.map((s) => `${indent}    ${s}`),
    `${indent}  </SegmentTimeline>`,
    ...rep.segments.map((s) => `${indent}  <SegmentURL media="${attr(s.uri)}"/>`),
    `${indent}</SegmentList>`,
  ];
}

/**
 * `<S>` elements: start times are rounded from the running sum (no drift over long videos), runs of equal
 * durations are folded with `r`.
 */
export function segmentTimeline(durationsSec: readonly number[]): string[] {
  const starts = [0];
  let sum = 0;
  for (const d of durationsSec) {
    sum += d;
    starts.push(Math.round(sum * MPD_TIMESCALE));
  }
  const durations = durationsSec.map((_, i) => starts[i + 1]! - starts[i]!);
  const out: string[] = [];
  for (let i = 0; i < durations.length; ) {
    let j = i;
    while (j + 1 < durations.length && durations[j + 1] === durations[i]) j++;
    const t = i === 0 ? `t="0" ` : '';
    const r = j > i ? ` r="${j - i}"` : '';
    out.push(`<S ${t}d="${durations[i]}"${r}/>`);
    i = j + 1;
  }
  return out;
}

/**
 * Recognises `720p/seg_1.m4s`, `720p/seg_2.m4s`, … as prefix `720p/seg_`, suffix `.m4s`, start 1: tries each run
 * of digits in the first URI's file name (the last first) until every URI is `<prefix><n+i><suffix>`.
 */
export function numberTemplate(uris: readonly string[]): { prefix: string; suffix: string; startNumber: number } | null {
  const first = uris[0];
  if (first === undefined) return null;
  // Only digits in the name proper count: `.m4s` and `.mp4` have digits too.
  const slash = first.lastIndexOf('/');
  const dot = first.lastIndexOf('.');
  const nameEnd = dot > slash ? dot : first.length;
  const runs = [...first.matchAll(/\d+/g)].filter((r) => r.index! + r[0].length <= nameEnd).reverse();
  for (const run of runs) {
    const digits = run[0];
    if (digits.length > 1 && digits.startsWith('0')) continue; // zero-padded numbers are not $Number$
    const prefix = first.slice(0, run.index);
    const suffix = first.slice(run.index! + digits.length);
    const startNumber = Number(digits);
    if (uris.every((uri, i) => uri === `${prefix}${startNumber + i}${suffix}`)) return { prefix, suffix, startNumber };
  }
  return null;
}

function escapeTemplate(value: string): string {
  // A function, because '$$' in a replacement string means a single '$'.
  return value.replaceAll('$', () => '$$');
}

function attr(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** xs:duration with millisecond precision: 6.0 → `PT6.000S`. */
export function isoDuration(sec: number): string {
  return `PT${sec.toFixed(3)}S`;
}
