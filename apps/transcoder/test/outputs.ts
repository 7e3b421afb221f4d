// Checks of what a transcode left in the store, through the store only: the HLS master and media playlists and the
// MPD parse, and every object they name exists.
import { posix } from 'node:path';
import type { TranscodeSucceededV1 } from '@kinora/contracts';
import { parseMasterPlaylist, parseMediaPlaylist } from '@kinora/media';
import type { ObjectStore } from '@kinora/storage';
// libs/media's own independent MPD reader (a minimal XML parser and SegmentTemplate expansion).
import { child, expandTemplate, findAll, parseXml } from '../../../libs/media/test/media-checks.js';

export async function readText(store: ObjectStore, key: string): Promise<string> {
  const { body } = await store.get(key);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export interface OutputCheck {
  /** Every key the manifests, the poster and the storyboard reference (including themselves). */
  referenced: Set<string>;
  /** Every key under the output prefix. */
  stored: string[];
  /** `WxH` of the HLS variants, in playlist order. */
  hlsSizes: string[];
  dashSizes: string[];
  /** Keys referenced but not stored. */
  missing: string[];
}

export async function checkOutputs(store: ObjectStore, prefix: string, payload: TranscodeSucceededV1): Promise<OutputCheck> {
  const referenced = new Set<string>([payload.hlsKey, payload.dashKey, payload.thumbnailKey]);
  const base = (key: string) => posix.dirname(key);

  const master = parseMasterPlaylist(await readText(store, payload.hlsKey));
  const hlsSizes = master.variants.map((v) => v.attributes['RESOLUTION']!);
  const playlists = [...master.variants.map((v) => v.uri), ...master.media.map((m) => m['URI']).filter((u): u is string => !!u)];
  for (const uri of playlists) {
    const key = posix.join(base(payload.hlsKey), uri);
    referenced.add(key);
    const media = parseMediaPlaylist(await readText(store, key));
    if (media.initUri) referenced.add(posix.join(base(key), media.initUri));
    for (const s of media.segments) referenced.add(posix.join(base(key), s.uri));
  }

  const mpd = parseXml(await readText(store, payload.dashKey));
  const reps = findAll(mpd, 'Representation');
  const dashSizes = reps.filter((r) => r.attributes['width']).map((r) => `${r.attributes['width']}x${r.attributes['height']}`);
  for (const rep of reps) {
    const template = child(rep, 'SegmentTemplate');
    if (!template) throw new Error(`Representation ${rep.attributes['id']} has no SegmentTemplate`);
    referenced.add(posix.join(base(payload.dashKey), template.attributes['initialization']!));
    for (const s of expandTemplate(template)) referenced.add(posix.join(base(payload.dashKey), s.uri));
  }

  if (payload.storyboardVttKey) {
    referenced.add(payload.storyboardVttKey);
    const vtt = await readText(store, payload.storyboardVttKey);
    for (const m of vtt.matchAll(/^(\S+?)#xywh=/gm)) referenced.add(posix.join(base(payload.storyboardVttKey), m[1]!));
  }

  const stored = (await store.list(prefix)).map((o) => o.key);
  const storedSet = new Set(stored);
  return { referenced, stored, hlsSizes, dashSizes, missing: [...referenced].filter((k) => !storedSet.has(k)) };
}
