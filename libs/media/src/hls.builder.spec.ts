import { describe, expect, it } from '@jest/globals';
import {
  AUDIO_GROUP_ID,
  buildMasterPlaylist,
  parseAttributes,
  parseMasterPlaylist,
  parseMediaPlaylist,
  PlaylistParseError,
} from './hls.builder.js';

const MEDIA = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init_720p.mp4"
#EXTINF:4.000000,
seg_1.m4s
#EXTINF:2.002000,
seg_2.m4s
#EXT-X-ENDLIST
`;

describe('parseMediaPlaylist', () => {
  it('reads what ffmpeg writes for fMP4 VOD', () => {
    expect(parseMediaPlaylist(MEDIA)).toEqual({
      version: 7,
      targetDurationSec: 4,
      mediaSequence: 1,
      playlistType: 'VOD',
      independentSegments: true,
      initUri: 'init_720p.mp4',
      segments: [
        { uri: 'seg_1.m4s', durationSec: 4 },
        { uri: 'seg_2.m4s', durationSec: 2.002 },
      ],
      endList: true,
    });
  });

  it.each([
    ['not a playlist', 'hello', /#EXTM3U/],
    ['no target duration', '#EXTM3U\n#EXTINF:4,\na.m4s\n', /TARGETDURATION/],
    ['a URI without EXTINF', '#EXTM3U\n#EXT-X-TARGETDURATION:4\na.m4s\n', /without #EXTINF/],
    ['an EXTINF without URI', '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n', /without a segment URI/],
    ['a negative duration', '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:-1,\na\n', /invalid #EXTINF/],
    ['a master playlist', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n', /master playlist/],
    ['a MAP without URI', '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:BYTERANGE="1@0"\n', /MAP without URI/],
  ])('refuses %s', (_label, text, message) => {
    expect(() => parseMediaPlaylist(text)).toThrow(PlaylistParseError);
    expect(() => parseMediaPlaylist(text)).toThrow(message);
  });
});

describe('buildMasterPlaylist', () => {
  const master = buildMasterPlaylist({
    audio: [{ groupId: AUDIO_GROUP_ID, name: 'Audio 128 kbps', uri: 'audio_128k/index.m3u8', channels: 2 }],
    variants: [
      { uri: '720p/index.m3u8', bandwidth: 3_100_000.4, averageBandwidth: 2_700_000, width: 1280, height: 720, frameRate: 29.97003, codecs: 'avc1.64001f,mp4a.40.2', audioGroup: AUDIO_GROUP_ID },
      { uri: '144p/index.m3u8', bandwidth: 260_000, averageBandwidth: 250_000, width: 256, height: 144, frameRate: 29.97003, codecs: 'avc1.64000c,mp4a.40.2', audioGroup: AUDIO_GROUP_ID },
    ],
  });

  it('writes the audio rendition and variants (ascending bandwidth) with BANDWIDTH, RESOLUTION, CODECS', () => {
    expect(master).toMatchSnapshot();
  });

  it('round-trips through parseMasterPlaylist', () => {
    const parsed = parseMasterPlaylist(master);
    expect(parsed.independentSegments).toBe(true);
    expect(parsed.variants.map((v) => v.uri)).toEqual(['144p/index.m3u8', '720p/index.m3u8']);
    expect(parsed.variants[1]!.attributes).toEqual({
      BANDWIDTH: '3100000',
      'AVERAGE-BANDWIDTH': '2700000',
      RESOLUTION: '1280x720',
      'FRAME-RATE': '29.970',
      CODECS: 'avc1.64001f,mp4a.40.2',
      AUDIO: 'audio',
    });
    expect(parsed.media).toEqual([
      {
        TYPE: 'AUDIO',
        'GROUP-ID': 'audio',
        NAME: 'Audio 128 kbps',
        LANGUAGE: 'und',
        DEFAULT: 'YES',
        AUTOSELECT: 'YES',
        CHANNELS: '2',
        URI: 'audio_128k/index.m3u8',
      },
    ]);
  });

  it('omits AUDIO for video-only variants', () => {
    const text = buildMasterPlaylist({
      audio: [],
      variants: [{ uri: 'a.m3u8', bandwidth: 1, averageBandwidth: 1, width: 2, height: 2, frameRate: 25, codecs: 'avc1.64000c', audioGroup: null }],
    });
    expect(text).not.toContain('AUDIO');
    expect(text).not.toContain('#EXT-X-MEDIA');
  });

  // Regression: 144p…360p in an `audio_96k` group and 480p up in `audio_128k` made every switch across them an
  // audio-group switch, which stalled hls.js 1.7.4 at the last segment (picture stuck at 144p).
  it('refuses variants in different audio groups, or some with audio and some without', () => {
    const variant = (uri: string, audioGroup: string | null) => ({
      uri, bandwidth: 1, averageBandwidth: 1, width: 2, height: 2, frameRate: 25, codecs: 'avc1.64000c', audioGroup,
    });
    const audio = [
      { groupId: 'audio_96k', name: 'Audio 96 kbps', uri: 'audio_96k/index.m3u8', channels: 2 },
      { groupId: 'audio_128k', name: 'Audio 128 kbps', uri: 'audio_128k/index.m3u8', channels: 2 },
    ];
    expect(() => buildMasterPlaylist({ audio, variants: [variant('a', 'audio_96k'), variant('b', 'audio_128k')] })).toThrow(
      /one audio group, got audio_96k, audio_128k/,
    );
    expect(() => buildMasterPlaylist({ audio, variants: [variant('a', 'audio_96k'), variant('b', null)] })).toThrow(/one audio group/);
    expect(() => buildMasterPlaylist({ audio, variants: [variant('a', 'other')] })).toThrow(/audio group other has no #EXT-X-MEDIA/);
  });

  it('marks only the first rendition of a group DEFAULT', () => {
    const text = buildMasterPlaylist({
      audio: [
        { groupId: 'audio', name: 'English', uri: 'en.m3u8', channels: 2, language: 'en' },
        { groupId: 'audio', name: 'Français', uri: 'fr.m3u8', channels: 2, language: 'fr' },
      ],
      variants: [{ uri: 'a.m3u8', bandwidth: 1, averageBandwidth: 1, width: 2, height: 2, frameRate: 25, codecs: 'avc1.64000c,mp4a.40.2', audioGroup: 'audio' }],
    });
    expect(parseMasterPlaylist(text).media.map((m) => [m['LANGUAGE'], m['DEFAULT']])).toEqual([
      ['en', 'YES'],
      ['fr', 'NO'],
    ]);
  });

  it('refuses values that would break the quoted-string syntax', () => {
    expect(() =>
      buildMasterPlaylist({ audio: [{ groupId: 'a"b', name: 'x', uri: 'x', channels: 2 }], variants: [] }),
    ).toThrow(/quoted strings/);
  });
});

describe('parseAttributes', () => {
  it('keeps commas inside quoted values', () => {
    expect(parseAttributes('BANDWIDTH=1,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1x1')).toEqual({
      BANDWIDTH: '1',
      CODECS: 'avc1.64001f,mp4a.40.2',
      RESOLUTION: '1x1',
    });
  });
});

describe('parseMasterPlaylist', () => {
  it.each([
    ['a variant without URI', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n', /without URI/],
    ['a variant without BANDWIDTH', '#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1\na.m3u8\n', /BANDWIDTH/],
    ['no variants', '#EXTM3U\n', /without variants/],
    ['a media playlist', MEDIA, /media playlist/],
  ])('refuses %s', (_label, text, message) => {
    expect(() => parseMasterPlaylist(text)).toThrow(message);
  });
});
