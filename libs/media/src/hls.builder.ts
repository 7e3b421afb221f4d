/** HLS: reading the media playlists ffmpeg writes, and writing the master playlist. Pure. */

export class PlaylistParseError extends Error {
  override readonly name = 'PlaylistParseError';
}

export interface MediaPlaylist {
  version: number | null;
  targetDurationSec: number;
  mediaSequence: number;
  playlistType: string | null;
  independentSegments: boolean;
  /** `#EXT-X-MAP` URI (the fMP4 init segment), null for TS playlists. */
  initUri: string | null;
  segments: Array<{ uri: string; durationSec: number }>;
  endList: boolean;
}

/**
 * Parses an HLS media playlist (RFC 8216 §4.3.3, the subset VOD needs). Throws PlaylistParseError when it is not
 * one: missing `#EXTM3U`, missing or invalid `#EXT-X-TARGETDURATION`, an `#EXTINF` without URI, a URI without
 * `#EXTINF`.
 */
export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines[0] !== '#EXTM3U') throw new PlaylistParseError('not an HLS playlist: first line is not #EXTM3U');
  const playlist: MediaPlaylist = {
    version: null,
    targetDurationSec: Number.NaN,
    mediaSequence: 0,
    playlistType: null,
    independentSegments: false,
    initUri: null,
    segments: [],
    endList: false,
  };
  let pendingDuration: number | null = null;
  for (const line of lines.slice(1)) {
    if (line.startsWith('#')) {
      const [tag, value = ''] = splitTag(line);
      switch (tag) {
        case '#EXT-X-VERSION':
          playlist.version = Number(value);
          break;
        case '#EXT-X-TARGETDURATION':
          playlist.targetDurationSec = Number(value);
          break;
        case '#EXT-X-MEDIA-SEQUENCE':
          playlist.mediaSequence = Number(value);
          break;
        case '#EXT-X-PLAYLIST-TYPE':
          playlist.playlistType = value;
          break;
        case '#EXT-X-INDEPENDENT-SEGMENTS':
          playlist.independentSegments = true;
          break;
        case '#EXT-X-MAP':
          playlist.initUri = parseAttributes(value)['URI'] ?? null;
          if (!playlist.initUri) throw new PlaylistParseError('#EXT-X-MAP without URI');
          break;
        case '#EXTINF': {
          const duration = Number(value.split(',')[0]);
          if (!Number.isFinite(duration) || duration < 0) throw new PlaylistParseError(`invalid #EXTINF: ${line}`);
          if (pendingDuration !== null) throw new PlaylistParseError('#EXTINF without a segment URI');
          pendingDuration = duration;
          break;
        }
        case '#EXT-X-STREAM-INF':
          throw new PlaylistParseError('this is a master playlist, not a media playlist');
        case '#EXT-X-ENDLIST':
          playlist.endList = true;
          break;
        default:
          break; // other tags and comments are not needed here
      }
    } else {
      if (pendingDuration === null) throw new PlaylistParseError(`segment URI without #EXTINF: ${line}`);
      playlist.segments.push({ uri: line, durationSec: pendingDuration });
      pendingDuration = null;
    }
  }
  if (pendingDuration !== null) throw new PlaylistParseError('#EXTINF without a segment URI at the end');
  if (!Number.isInteger(playlist.targetDurationSec) || playlist.targetDurationSec <= 0) {
    throw new PlaylistParseError('missing or invalid #EXT-X-TARGETDURATION');
  }
  return playlist;
}

export interface MasterPlaylist {
  independentSegments: boolean;
  media: Array<Record<string, string>>;
  variants: Array<{ attributes: Record<string, string>; uri: string }>;
}

/** Parses a master playlist: `#EXT-X-MEDIA` attribute lists and `#EXT-X-STREAM-INF` + URI pairs. */
export function parseMasterPlaylist(text: string): MasterPlaylist {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines[0] !== '#EXTM3U') throw new PlaylistParseError('not an HLS playlist: first line is not #EXTM3U');
  const result: MasterPlaylist = { independentSegments: false, media: [], variants: [] };
  let pending: Record<string, string> | null = null;
  for (const line of lines.slice(1)) {
    const [tag, value = ''] = splitTag(line);
    if (tag === '#EXT-X-STREAM-INF') {
      if (pending) throw new PlaylistParseError('#EXT-X-STREAM-INF without URI');
      pending = parseAttributes(value);
      if (!pending['BANDWIDTH']) throw new PlaylistParseError('#EXT-X-STREAM-INF without BANDWIDTH');
    } else if (tag === '#EXT-X-MEDIA') {
      result.media.push(parseAttributes(value));
    } else if (tag === '#EXT-X-INDEPENDENT-SEGMENTS') {
      result.independentSegments = true;
    } else if (tag === '#EXTINF') {
      throw new PlaylistParseError('this is a media playlist, not a master playlist');
    } else if (!line.startsWith('#')) {
      if (!pending) throw new PlaylistParseError(`URI without #EXT-X-STREAM-INF: ${line}`);
      result.variants.push({ attributes: pending, uri: line });
      pending = null;
    }
  }
  if (pending) throw new PlaylistParseError('#EXT-X-STREAM-INF without URI at the end');
  if (result.variants.length === 0) throw new PlaylistParseError('master playlist without variants');
  return result;
}

function splitTag(line: string): [string, string?] {
  const colon = line.indexOf(':');
  return colon < 0 ? [line] : [line.slice(0, colon), line.slice(colon + 1)];
}

/** `KEY=value,KEY2="quoted, with commas"` → record (quotes removed). */
export function parseAttributes(list: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  const pattern = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)/g;
  for (const match of list.matchAll(pattern)) {
    const value = match[2]!;
    attributes[match[1]!] = value.startsWith('"') ? value.slice(1, -1) : value;
  }
  return attributes;
}

export interface MasterVariantInput {
  /** Media playlist URI relative to the master. */
  uri: string;
  /** Peak segment bitrate of video + its audio, bits/s. */
  bandwidth: number;
  averageBandwidth: number;
  width: number;
  height: number;
  frameRate: number;
  /** RFC 6381 codecs of video and audio: `avc1.64001f,mp4a.40.2`. */
  codecs: string;
  audioGroup: string | null;
}

export interface MasterAudioInput {
  groupId: string;
  name: string;
  uri: string;
  channels: number;
  language?: string;
}

/** GROUP-ID of the audio rendition group every variant shares. */
export const AUDIO_GROUP_ID = 'audio';

/**
 * The master playlist: one `#EXT-X-MEDIA` per audio rendition, all in ONE group that every variant references, and
 * one `#EXT-X-STREAM-INF` per video rendition with BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, FRAME-RATE, CODECS and
 * AUDIO. Version 7: fMP4 segments with `#EXT-X-MAP` in VOD playlists.
 *
 * Refuses variants that reference different audio groups (or some audio and some none): then a level switch is
 * also an audio-group switch, which hls.js 1.7 could not finish before the buffer ran dry (a forced switch from
 * 144p to 720p stalled at the last segment, picture stuck at 144p).
 */
export function buildMasterPlaylist(input: { variants: MasterVariantInput[]; audio: MasterAudioInput[] }): string {
  const groups = new Set(input.variants.map((v) => v.audioGroup));
  if (groups.size > 1) {
    throw new Error(`every variant must share one audio group, got ${[...groups].map((g) => g ?? 'none').join(', ')}`);
  }
  const group = input.variants[0]?.audioGroup ?? null;
  if (group !== null && !input.audio.some((a) => a.groupId === group)) {
    throw new Error(`audio group ${group} has no #EXT-X-MEDIA rendition`);
  }
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  const seenGroups = new Set<string>();
  for (const a of input.audio) {
    // One DEFAULT rendition per group (RFC 8216 §4.3.4.1.1); the first one listed.
    const isDefault = !seenGroups.has(a.groupId);
    seenGroups.add(a.groupId);
    lines.push(
      '#EXT-X-MEDIA:' +
        [
          'TYPE=AUDIO',
          `GROUP-ID=${quote(a.groupId)}`,
          `NAME=${quote(a.name)}`,
          `LANGUAGE=${quote(a.language ?? 'und')}`,
          `DEFAULT=${isDefault ? 'YES' : 'NO'}`,
          'AUTOSELECT=YES',
          `CHANNELS=${quote(String(a.channels))}`,
          `URI=${quote(a.uri)}`,
        ].join(','),
    );
  }
  for (const v of [...input.variants].sort((a, b) => a.bandwidth - b.bandwidth)) {
    const attributes = [
      `BANDWIDTH=${Math.round(v.bandwidth)}`,
      `AVERAGE-BANDWIDTH=${Math.round(v.averageBandwidth)}`,
      `RESOLUTION=${v.width}x${v.height}`,
      `FRAME-RATE=${v.frameRate.toFixed(3)}`,
      `CODECS=${quote(v.codecs)}`,
    ];
    if (v.audioGroup) attributes.push(`AUDIO=${quote(v.audioGroup)}`);
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, v.uri);
  }
  return lines.join('\n') + '\n';
}

function quote(value: string): string {
  if (/["\r\n]/.test(value)) throw new Error(`HLS quoted strings cannot contain quotes or line breaks: ${value}`);
  return `"${value}"`;
}
