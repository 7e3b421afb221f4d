// Independent checks of what a transcode wrote: ffprobe on the files themselves, and a minimal XML reader for the
// MPD (no dependency; enough to prove it is well-formed and to walk its elements).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ProbedStream {
  codec_name: string;
  codec_type: string;
  profile?: string;
  width?: number;
  height?: number;
  channels?: number;
  sample_rate?: string;
  duration?: string;
}

export async function ffprobeJson(file: string): Promise<{ streams: ProbedStream[]; format: { duration?: string } }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]);
  return JSON.parse(stdout);
}

/** Presentation times (s) of the video keyframes: packets flagged K, read without decoding. */
export async function keyframeTimes(file: string): Promise<number[]> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .map((line) => line.split(','))
    .filter(([, flags]) => flags?.includes('K'))
    .map(([pts]) => Number(pts))
    .sort((a, b) => a - b);
}

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
}

/**
 * Parses well-formed XML without DTDs into elements (text is ignored). Throws on mismatched or unclosed tags,
 * duplicate attributes and stray characters in tags: enough to catch a broken MPD.
 */
export function parseXml(text: string): XmlElement {
  const decode = (s: string) =>
    s.replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e]!);
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const token = /<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*"[^"<]*")*)\s*(\/?)>|<|[^<]+/g;
  for (const match of text.matchAll(token)) {
    const [whole, closing, name, attrs, selfClosing] = match;
    if (whole.startsWith('<?') || whole.startsWith('<!--')) continue;
    if (!name) {
      if (whole === '<') throw new Error(`malformed tag at offset ${match.index}`);
      if (whole.trim() && stack.length === 0) throw new Error(`text outside the root element: ${whole.trim().slice(0, 40)}`);
      continue;
    }
    if (closing) {
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`</${name}> does not close <${open?.name ?? 'nothing'}>`);
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const a of (attrs ?? '').matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*"([^"]*)"/g)) {
      if (a[1]! in attributes) throw new Error(`duplicate attribute ${a[1]} on <${name}>`);
      attributes[a[1]!] = decode(a[2]!);
    }
    const element: XmlElement = { name, attributes, children: [] };
    if (stack.length > 0) stack.at(-1)!.children.push(element);
    else if (root) throw new Error('more than one root element');
    else root = element;
    if (!selfClosing) stack.push(element);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}

export function findAll(element: XmlElement, name: string): XmlElement[] {
  const found: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.name === name) found.push(e);
    e.children.forEach(walk);
  };
  walk(element);
  return found;
}

export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}

/** Expands a SegmentTemplate with SegmentTimeline into (uri, durationSec) pairs. */
export function expandTemplate(template: XmlElement): Array<{ uri: string; durationSec: number }> {
  const timescale = Number(template.attributes['timescale'] ?? 1);
  const media = template.attributes['media']!;
  let number = Number(template.attributes['startNumber'] ?? 1);
  const timeline = child(template, 'SegmentTimeline');
  if (!timeline) throw new Error('SegmentTemplate without SegmentTimeline');
  const out: Array<{ uri: string; durationSec: number }> = [];
  for (const s of timeline.children.filter((c) => c.name === 'S')) {
    const repeat = Number(s.attributes['r'] ?? 0);
    for (let i = 0; i <= repeat; i++) {
      out.push({
        uri: media.replace(/\$Number\$/g, String(number++)).replace(/\$\$/g, '$'),
        durationSec: Number(s.attributes['d']) / timescale,
      });
    }
  }
  return out;
}

/** Where one track of a CMAF rendition starts, read from the boxes themselves (what MSE in a browser reads). */
export interface FragmentTiming {
  timescale: number;
  /** `tfdt` baseMediaDecodeTime of the first fragment, in seconds. */
  decodeStartSec: number;
  /** Earliest composition time of the first fragment's samples (tfdt + durations + trun composition offsets). */
  presentationStartSec: number;
  /** `trun` version of the first fragment: 1 allows negative composition offsets. */
  trunVersion: number;
  /** Edit list of the init segment: `[segmentDuration (movie timescale), mediaTime (track timescale)]` entries. */
  edits: Array<[number, number]>;
  /** Start of the media the edit list presents first, in seconds (0 without an edit list; -1 entries are empty edits). */
  editMediaTimeSec: number;
}

interface Box {
  type: string;
  start: number;
  body: number;
  end: number;
}

function boxes(buf: Buffer, start = 0, end = buf.length): Box[] {
  const out: Box[] = [];
  for (let p = start; p + 8 <= end; ) {
    let size = buf.readUInt32BE(p);
    let header = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(p + 8));
      header = 16;
    } else if (size === 0) size = end - p;
    if (size < header || p + size > end) throw new Error(`bad box size ${size} at ${p}`);
    out.push({ type: buf.toString('latin1', p + 4, p + 8), start: p, body: p + header, end: p + size });
    p += size;
  }
  return out;
}

function find(buf: Buffer, path: string[], within: Box | null = null): Box {
  let scope: Box | null = within;
  for (const type of path) {
    const found: Box | undefined = boxes(buf, scope ? scope.body : 0, scope ? scope.end : buf.length).find((b) => b.type === type);
    if (!found) throw new Error(`no ${[...path].join('/')} box (missing ${type})`);
    scope = found;
  }
  return scope!;
}

/**
 * Reads the start of a single-track CMAF rendition: timescale and edit list from the init segment, tfdt and trun
 * of the first media segment. Independent of ffprobe, whose mov demuxer (5.1) moves every pts of a track with
 * negative composition offsets up by the largest of them, so it reports 0.067 s where a browser sees 0.
 */
export function fragmentTiming(init: Buffer, segment: Buffer): FragmentTiming {
  const trak = find(init, ['moov', 'trak']);
  const mdhd = find(init, ['mdia', 'mdhd'], trak);
  const mdhdVersion = init[mdhd.body]!;
  const timescale = init.readUInt32BE(mdhd.body + (mdhdVersion === 1 ? 20 : 12));
  const edits: Array<[number, number]> = [];
  const edts = boxes(init, trak.body, trak.end).find((b) => b.type === 'edts');
  if (edts) {
    const elst = find(init, ['elst'], edts);
    const version = init[elst.body]!;
    const count = init.readUInt32BE(elst.body + 4);
    for (let i = 0, q = elst.body + 8; i < count; i++) {
      if (version === 1) {
        edits.push([Number(init.readBigUInt64BE(q)), Number(init.readBigInt64BE(q + 8))]);
        q += 20;
      } else {
        edits.push([init.readUInt32BE(q), init.readInt32BE(q + 4)]);
        q += 12;
      }
    }
  }
  const trex = find(init, ['moov', 'mvex', 'trex']);
  let defaultDuration = init.readUInt32BE(trex.body + 12);

  const traf = find(segment, ['moof', 'traf']);
  const tfhd = find(segment, ['tfhd'], traf);
  const tfhdFlags = segment.readUIntBE(tfhd.body + 1, 3);
  let q = tfhd.body + 8;
  if (tfhdFlags & 0x1) q += 8; // base-data-offset
  if (tfhdFlags & 0x2) q += 4; // sample-description-index
  if (tfhdFlags & 0x8) defaultDuration = segment.readUInt32BE(q);
  const tfdt = find(segment, ['tfdt'], traf);
  const base = segment[tfdt.body] === 1 ? Number(segment.readBigUInt64BE(tfdt.body + 4)) : segment.readUInt32BE(tfdt.body + 4);
  const trun = find(segment, ['trun'], traf);
  const trunVersion = segment[trun.body]!;
  const flags = segment.readUIntBE(trun.body + 1, 3);
  const count = segment.readUInt32BE(trun.body + 4);
  let p = trun.body + 8;
  if (flags & 0x1) p += 4; // data-offset
  if (flags & 0x4) p += 4; // first-sample-flags
  let dts = base;
  let earliest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    let duration = defaultDuration;
    let offset = 0;
    if (flags & 0x100) (duration = segment.readUInt32BE(p)), (p += 4);
    if (flags & 0x200) p += 4;
    if (flags & 0x400) p += 4;
    if (flags & 0x800) (offset = trunVersion === 1 ? segment.readInt32BE(p) : segment.readUInt32BE(p)), (p += 4);
    earliest = Math.min(earliest, dts + offset);
    dts += duration;
  }
  const firstMedia = edits.find(([, mediaTime]) => mediaTime !== -1);
  return {
    timescale,
    decodeStartSec: base / timescale,
    presentationStartSec: earliest / timescale,
    trunVersion,
    edits,
    editMediaTimeSec: (firstMedia?.[1] ?? 0) / timescale,
  };
}
