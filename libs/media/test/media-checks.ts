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
