/**
 * RFC 6381 codec strings read from an fMP4 init segment (`avc1.64001f`, `mp4a.40.2`), for the master playlist's
 * CODECS and the MPD's @codecs. Read from the bytes ffmpeg wrote rather than guessed from settings, because x264
 * picks the level from the frame size and rate. Pure.
 */

interface Box {
  type: string;
  start: number;
  /** Offset of the payload (after size/type, and after the 64-bit size when present). */
  payload: number;
  end: number;
}

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);

function* boxes(buf: Buffer, start: number, end: number): Generator<Box> {
  let offset = start;
  while (offset + 8 <= end) {
    let size = buf.readUInt32BE(offset);
    const type = buf.toString('latin1', offset + 4, offset + 8);
    let payload = offset + 8;
    if (size === 1) {
      if (offset + 16 > end) return;
      size = Number(buf.readBigUInt64BE(offset + 8));
      payload = offset + 16;
    } else if (size === 0) {
      size = end - offset;
    }
    if (size < 8 || offset + size > end) return;
    yield { type, start: offset, payload, end: offset + size };
    offset += size;
  }
}

/** Sample entries (`avc1`, `mp4a`, …) of every track, with their child boxes' range. */
function sampleEntries(buf: Buffer): Box[] {
  const found: Box[] = [];
  const walk = (start: number, end: number) => {
    for (const box of boxes(buf, start, end)) {
      if (CONTAINERS.has(box.type)) walk(box.payload, box.end);
      else if (box.type === 'stsd') {
        // FullBox (version + flags) + entry_count, then the entries.
        for (const entry of boxes(buf, box.payload + 8, box.end)) found.push(entry);
      }
    }
  };
  walk(0, buf.length);
  return found;
}

const VISUAL_SAMPLE_ENTRY_HEADER = 78;
const AUDIO_SAMPLE_ENTRY_HEADER = 28;

export function codecStrings(init: Buffer): string[] {
  const result: string[] = [];
  for (const entry of sampleEntries(init)) {
    if (entry.type === 'avc1' || entry.type === 'avc3') {
      const avcC = [...boxes(init, entry.payload + VISUAL_SAMPLE_ENTRY_HEADER, entry.end)].find((b) => b.type === 'avcC');
      if (!avcC || avcC.payload + 4 > avcC.end) continue;
      const hex = (n: number) => init[avcC.payload + n]!.toString(16).padStart(2, '0');
      result.push(`${entry.type}.${hex(1)}${hex(2)}${hex(3)}`);
    } else if (entry.type === 'mp4a') {
      const esds = [...boxes(init, entry.payload + AUDIO_SAMPLE_ENTRY_HEADER, entry.end)].find((b) => b.type === 'esds');
      result.push(esds ? mp4aCodec(init.subarray(esds.payload + 4, esds.end)) : 'mp4a.40.2');
    } else {
      result.push(entry.type);
    }
  }
  return result;
}

/** `mp4a.<objectTypeIndication hex>.<audioObjectType>` from the ES descriptor (ISO 14496-1 §7.2.6). */
function mp4aCodec(descriptors: Buffer): string {
  let objectType = 0x40;
  let audioObjectType = 2;
  const readDescriptor = (offset: number): { tag: number; body: number; end: number } | null => {
    if (offset >= descriptors.length) return null;
    const tag = descriptors[offset]!;
    let length = 0;
    let i = offset + 1;
    for (let n = 0; n < 4 && i < descriptors.length; n++) {
      const b = descriptors[i++]!;
      length = (length << 7) | (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
    return { tag, body: i, end: Math.min(descriptors.length, i + length) };
  };
  const es = readDescriptor(0);
  if (es?.tag === 0x03) {
    const flags = descriptors[es.body + 2] ?? 0;
    let offset = es.body + 3;
    if (flags & 0x80) offset += 2; // dependsOn_ES_ID
    if (flags & 0x40) offset += 1 + (descriptors[offset] ?? 0); // URL
    if (flags & 0x20) offset += 2; // OCR_ES_Id
    const config = readDescriptor(offset);
    if (config?.tag === 0x04) {
      objectType = descriptors[config.body] ?? objectType;
      const specific = readDescriptor(config.body + 13);
      if (specific?.tag === 0x05 && specific.body < specific.end) {
        audioObjectType = (descriptors[specific.body]! >> 3) & 0x1f;
        if (audioObjectType === 31 && specific.body + 1 < specific.end) {
          audioObjectType = 32 + (((descriptors[specific.body]! & 0x07) << 3) | (descriptors[specific.body + 1]! >> 5));
        }
      }
    }
  }
  return `mp4a.${objectType.toString(16)}.${audioObjectType}`;
}
