import { describe, expect, it } from '@jest/globals';
import { codecStrings } from './mp4.codecs.js';

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

const fullBoxHeader = () => Buffer.alloc(4);
const stsd = (...entries: Buffer[]) => {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(entries.length, 0);
  return box('stsd', fullBoxHeader(), count, ...entries);
};
const track = (entry: Buffer) => box('trak', box('mdia', box('minf', box('stbl', stsd(entry)))));

/** avc1 sample entry: 78 bytes of VisualSampleEntry fields, then avcC (version, profile, compat, level, …). */
const avc1 = (profile: number, compat: number, level: number) =>
  box('avc1', Buffer.alloc(78), box('avcC', Buffer.from([1, profile, compat, level, 0xff, 0xe1])), box('btrt', Buffer.alloc(12)));

/** mp4a sample entry: 28 bytes of AudioSampleEntry fields, then esds with ES/DecoderConfig/DecSpecificInfo. */
function mp4a(objectType: number, audioSpecificConfig: number[]): Buffer {
  const decSpecific = Buffer.from([0x05, audioSpecificConfig.length, ...audioSpecificConfig]);
  const decoderConfig = Buffer.concat([
    Buffer.from([0x04, 13 + decSpecific.length, objectType, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    decSpecific,
  ]);
  // ES_Descriptor with a 4-byte length encoding (0x80 0x80 0x80 n), as ffmpeg writes it.
  const esBody = Buffer.concat([Buffer.from([0, 1, 0]), decoderConfig]);
  const es = Buffer.concat([Buffer.from([0x03, 0x80, 0x80, 0x80, esBody.length]), esBody]);
  return box('mp4a', Buffer.alloc(28), box('esds', fullBoxHeader(), es));
}

describe('codecStrings', () => {
  it('reads avc1 profile/compatibility/level from avcC', () => {
    const init = Buffer.concat([box('ftyp', Buffer.from('iso6')), box('moov', box('mvhd', Buffer.alloc(100)), track(avc1(0x64, 0x00, 0x1f)))]);
    expect(codecStrings(init)).toEqual(['avc1.64001f']);
  });

  it('reads AAC-LC and HE-AAC from the ES descriptor', () => {
    expect(codecStrings(box('moov', track(mp4a(0x40, [0x11, 0x90]))))).toEqual(['mp4a.40.2']);
    expect(codecStrings(box('moov', track(mp4a(0x40, [0x2b, 0x92, 0x08]))))).toEqual(['mp4a.40.5']);
  });

  it('lists every track, and survives garbage', () => {
    const init = box('moov', track(avc1(0x4d, 0x40, 0x28)), track(mp4a(0x40, [0x12, 0x10])));
    expect(codecStrings(init)).toEqual(['avc1.4d4028', 'mp4a.40.2']);
    expect(codecStrings(Buffer.from('definitely not an mp4 file'))).toEqual([]);
    expect(codecStrings(init.subarray(0, init.length - 10))).toEqual([]);
  });
});
