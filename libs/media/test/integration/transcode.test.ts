// The whole ladder with the real ffmpeg: every rendition probed, keyframes compared across rungs, playlists and MPD
// parsed and every file they reference checked on disk.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import {
  buildLadder,
  parseMasterPlaylist,
  parseMediaPlaylist,
  transcode,
  type TranscodeManifest,
  type TranscodeProgress,
} from '@kinora/media';
import { ensureFfmpeg } from '@kinora/testing';
import { source, SOURCES, type SourceName } from '../fixtures.js';
import { child, expandTemplate, ffprobeJson, findAll, fragmentTiming, keyframeTimes, parseXml } from '../media-checks.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const work: string[] = [];
afterAll(async () => {
  for (const dir of work) await rm(dir, { recursive: true, force: true });
});

interface Case {
  name: SourceName;
  /** Expected renditions as `WxH`. */
  sizes: string[];
}

const CASES: Case[] = [
  { name: 'landscape1080', sizes: ['256x144', '426x240', '640x360', '854x480', '1280x720', '1920x1080'] },
  { name: 'portrait720', sizes: ['144x256', '240x426', '360x640', '480x854', '720x1280'] },
  { name: 'silent480', sizes: ['256x144', '428x240', '640x360', '854x480'] },
  { name: 'uhdLowFps', sizes: ['256x144', '426x240', '640x360', '854x480', '1280x720', '1920x1080', '3840x2160'] },
  // Coded 320×180 with a 90° display matrix: ffmpeg rotates while decoding, the ladder sees 180×320.
  { name: 'rotated', sizes: ['144x256'] },
  // Below the lowest rung: one rendition at the source's size.
  { name: 'tiny', sizes: ['100x56'] },
];

describe.each(CASES)('transcode $name', ({ name, sizes }) => {
  const spec = SOURCES[name];
  let outputDir: string;
  let manifest: TranscodeManifest;
  const progress: TranscodeProgress[] = [];
  let elapsedMs = 0;

  beforeAll(async () => {
    await ensureFfmpeg();
    const input = await source(name);
    outputDir = await mkdtemp(join(tmpdir(), `kinora-transcode-${name}-`));
    work.push(outputDir);
    const started = performance.now();
    manifest = await transcode({ input, outputDir, onProgress: (p) => progress.push(p) });
    elapsedMs = performance.now() - started;
    process.stderr.write(
      `[media] ${name}: ${spec.width}x${spec.height} ${spec.durationSec}s → ${manifest.renditions.length} renditions in ` +
        `${Math.round(elapsedMs)} ms (${manifest.speed.toFixed(2)}× realtime)\n`,
    );
  }, 600_000);

  it('produces one rendition per rung up to the source, aspect kept, even sizes', () => {
    expect(manifest.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(sizes);
    for (const r of manifest.renditions) {
      expect(r.width % 2).toBe(0);
      expect(r.height % 2).toBe(0);
      expect(r.bandwidth).toBeGreaterThan(0);
      expect(r.averageBandwidth).toBeLessThanOrEqual(r.bandwidth);
      expect(r.codecs).toMatch(spec.audio ? /^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/ : /^avc1\.64[0-9a-f]{4}$/);
    }
    expect(manifest.audio.map((a) => a.name)).toEqual(spec.audio ? ['audio_128k'] : []);
    expect(manifest.renditions.map((r) => r.audio)).toEqual(sizes.map(() => (spec.audio ? 'audio_128k' : null)));
    expect(manifest.durationSec).toBeCloseTo(spec.durationSec, 0);
  });

  it('reports progress up to 1', () => {
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)?.done).toBe(true);
    expect(progress.at(-1)?.ratio).toBe(1);
    expect(progress.every((p) => p.ratio >= 0 && p.ratio <= 1)).toBe(true);
    expect(progress.filter((p) => p.ratio === 1)).toHaveLength(1);
    // Progress flows from the start (every output gets a frame early, or ffmpeg would stay silent).
    if (spec.durationSec >= 6) expect(progress.some((p) => p.ratio > 0 && p.ratio < 0.5)).toBe(true);
  });

  it('encodes every rendition as H.264 of the right size and duration, audio as AAC 48 kHz', async () => {
    for (const r of manifest.renditions) {
      const file = await concatenated(outputDir, r.playlist);
      const probe = await ffprobeJson(file);
      const video = probe.streams.filter((s) => s.codec_type === 'video');
      expect(video).toHaveLength(1);
      expect(video[0]).toMatchObject({ codec_name: 'h264', profile: 'High', width: r.width, height: r.height });
      expect(probe.streams.filter((s) => s.codec_type === 'audio')).toHaveLength(0); // CMAF: one track per file
      expect(Number(probe.format.duration)).toBeCloseTo(spec.durationSec, 0);
    }
    for (const a of manifest.audio) {
      const probe = await ffprobeJson(await concatenated(outputDir, a.playlist));
      expect(probe.streams).toHaveLength(1);
      expect(probe.streams[0]).toMatchObject({ codec_name: 'aac', codec_type: 'audio', channels: 2, sample_rate: '48000' });
      expect(Math.abs(Number(probe.format.duration) - spec.durationSec)).toBeLessThan(0.25);
    }
  });

  // Regression: the hls muxer shifted every track by x264's negative DTS, so video started at 0.067 s (tfdt 0, first
  // composition offset 2 frames) while audio started at 0: hls.js reported bufferSeekOverHole at the start.
  it('starts video and audio at 0 in the first fMP4 segments', async () => {
    const firstFragment = async (playlistPath: string) => {
      const playlist = parseMediaPlaylist(await readFile(join(outputDir, playlistPath), 'utf8'));
      const dir = join(outputDir, posix.dirname(playlistPath));
      return fragmentTiming(await readFile(join(dir, playlist.initUri!)), await readFile(join(dir, playlist.segments[0]!.uri)));
    };
    for (const r of manifest.renditions) {
      const timing = await firstFragment(r.playlist);
      // The first frame (an IDR) is presented at 0; B-frames shown before their references use negative offsets.
      expect({ name: r.name, decodeStart: timing.decodeStartSec, presentationStart: timing.presentationStartSec }).toEqual({
        name: r.name,
        decodeStart: 0,
        presentationStart: 0,
      });
      expect(timing.edits.filter(([, mediaTime]) => mediaTime !== 0)).toEqual([]); // no empty edit, nothing skipped
    }
    for (const a of manifest.audio) {
      const timing = await firstFragment(a.playlist);
      expect(timing.decodeStartSec).toBe(0);
      expect(timing.presentationStartSec).toBe(0);
      expect(timing.edits.filter(([, mediaTime]) => mediaTime === -1)).toEqual([]); // no empty edit delaying it
      // AAC priming (1024 samples at 48 kHz) is the first thing in the track and the edit list trims it: sound starts
      // at 0 on the presentation timeline. ffprobe sees the same: the first packet, the priming, just before 0.
      expect(timing.editMediaTimeSec).toBeCloseTo(1024 / 48000, 6);
      expect(await firstPacketPts(await concatenated(outputDir, a.playlist))).toBeCloseTo(-timing.editMediaTimeSec, 4);
    }
  });

  it('puts keyframes at the same times in every rung, every 2 s', async () => {
    const times = await Promise.all(manifest.renditions.map(async (r) => keyframeTimes(await concatenated(outputDir, r.playlist))));
    for (const t of times) expect(t).toEqual(times[0]);
    const first = times[0]!;
    expect(first).toHaveLength(Math.ceil(spec.durationSec / 2));
    first.forEach((t, i) => expect(t - first[0]!).toBeCloseTo(i * 2, 2));
  });

  it('writes HLS playlists that parse, stay within 4 s segments and reference files that exist', async () => {
    const master = parseMasterPlaylist(await readFile(join(outputDir, manifest.hls), 'utf8'));
    expect(master.independentSegments).toBe(true);
    expect(master.variants).toHaveLength(sizes.length);
    const groups = new Set(master.media.map((m) => m['GROUP-ID']));
    // One audio rendition in one group that every variant shares: a level switch never switches audio.
    expect(master.media.map((m) => m['URI'])).toEqual(spec.audio ? ['audio_128k/index.m3u8'] : []);
    expect(new Set(master.variants.map((v) => v.attributes['AUDIO']))).toEqual(new Set(spec.audio ? ['audio'] : [undefined]));
    for (const v of master.variants) {
      expect(Number(v.attributes['BANDWIDTH'])).toBeGreaterThan(0);
      expect(v.attributes['RESOLUTION']).toMatch(/^\d+x\d+$/);
      expect(v.attributes['CODECS']).toMatch(/^avc1\./);
      if (spec.audio) expect(groups.has(v.attributes['AUDIO'])).toBe(true);
      else expect(v.attributes['AUDIO']).toBeUndefined();
    }
    expect(master.variants.map((v) => v.attributes['RESOLUTION']).sort()).toEqual([...sizes].sort());
    const mediaUris = [...master.variants.map((v) => v.uri), ...master.media.map((m) => m['URI']!)];
    for (const uri of mediaUris) {
      const playlist = parseMediaPlaylist(await readFile(join(outputDir, uri), 'utf8'));
      expect(playlist.targetDurationSec).toBeLessThanOrEqual(4);
      expect(playlist.playlistType).toBe('VOD');
      expect(playlist.endList).toBe(true);
      expect(playlist.initUri).not.toBeNull();
      const dir = posix.dirname(uri);
      expect(existsSync(join(outputDir, dir, playlist.initUri!))).toBe(true);
      for (const s of playlist.segments) {
        expect(s.durationSec).toBeLessThanOrEqual(4.05);
        expect(existsSync(join(outputDir, dir, s.uri))).toBe(true);
      }
      const total = playlist.segments.reduce((a, s) => a + s.durationSec, 0);
      expect(Math.abs(total - spec.durationSec)).toBeLessThan(0.25);
    }
  });

  it('writes a well-formed DASH MPD over the same init and segment files', async () => {
    const mpd = parseXml(await readFile(join(outputDir, manifest.dash), 'utf8'));
    expect(mpd.name).toBe('MPD');
    expect(mpd.attributes['type']).toBe('static');
    const sets = findAll(mpd, 'AdaptationSet');
    expect(sets.map((s) => s.attributes['contentType'])).toEqual(spec.audio ? ['video', 'audio'] : ['video']);
    // The same single audio rendition as the HLS master.
    const audioReps = spec.audio ? findAll(sets[1]!, 'Representation').map((r) => r.attributes['id']) : [];
    expect(audioReps).toEqual(manifest.audio.map((a) => a.name));
    const reps = findAll(mpd, 'Representation');
    expect(reps).toHaveLength(manifest.renditions.length + manifest.audio.length);
    const hlsFiles = new Set<string>();
    for (const r of [...manifest.renditions, ...manifest.audio]) {
      const playlist = parseMediaPlaylist(await readFile(join(outputDir, r.playlist), 'utf8'));
      const dir = posix.dirname(r.playlist);
      hlsFiles.add(posix.join(dir, playlist.initUri!));
      playlist.segments.forEach((s) => hlsFiles.add(posix.join(dir, s.uri)));
    }
    const dashFiles = new Set<string>();
    for (const rep of reps) {
      const template = child(rep, 'SegmentTemplate')!;
      expect(template).toBeDefined();
      dashFiles.add(template.attributes['initialization']!);
      const segments = expandTemplate(template);
      segments.forEach((s) => dashFiles.add(s.uri));
      const total = segments.reduce((a, s) => a + s.durationSec, 0);
      expect(Math.abs(total - spec.durationSec)).toBeLessThan(0.25);
      expect(Number(rep.attributes['bandwidth'])).toBeGreaterThan(0);
    }
    for (const f of dashFiles) expect(existsSync(join(outputDir, f))).toBe(true);
    expect([...dashFiles].sort()).toEqual([...hlsFiles].sort());
    for (const r of manifest.renditions) {
      const rep = reps.find((x) => x.attributes['id'] === r.name)!;
      expect(`${rep.attributes['width']}x${rep.attributes['height']}`).toBe(`${r.width}x${r.height}`);
      expect(r.codecs.startsWith(rep.attributes['codecs']!)).toBe(true);
    }
  });

  it('writes a poster and a storyboard whose VTT cues point inside existing sprite sheets', async () => {
    expect(manifest.poster).not.toBeNull();
    const poster = await ffprobeJson(join(outputDir, manifest.poster!.path));
    expect(poster.streams[0]).toMatchObject({ codec_name: 'mjpeg', width: manifest.poster!.width, height: manifest.poster!.height });

    const sb = manifest.storyboard!;
    expect(sb.sprites.length).toBeGreaterThan(0);
    expect((await readdir(join(outputDir, 'storyboard'))).filter((f) => f.startsWith('thumb_'))).toEqual([]);
    const vtt = await readFile(join(outputDir, sb.vtt), 'utf8');
    expect(vtt.startsWith('WEBVTT\n')).toBe(true);
    const cues = [...vtt.matchAll(/^(\S+) --> (\S+)\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$/gm)];
    expect(cues).toHaveLength(sb.tileCount);
    expect(sb.tileCount).toBe(Math.ceil(spec.durationSec / sb.intervalSec));
    for (const [, , , uri, x, y, w, h] of cues) {
      const sheet = await ffprobeJson(join(outputDir, posix.dirname(sb.vtt), uri!));
      expect(Number(x) + Number(w)).toBeLessThanOrEqual(sheet.streams[0]!.width!);
      expect(Number(y) + Number(h)).toBeLessThanOrEqual(sheet.streams[0]!.height!);
    }
  });

  it('lists exactly the files it wrote, with content types', async () => {
    const onDisk = (await readdir(outputDir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile() && !e.name.startsWith('concat-'))
      .map((e) => posix.join(posix.relative(outputDir, e.parentPath ?? outputDir), e.name))
      .sort();
    expect(manifest.files.map((f) => f.path)).toEqual(onDisk);
    const types = new Map(manifest.files.map((f) => [posix.extname(f.path), f.contentType]));
    expect(types.get('.m3u8')).toBe('application/vnd.apple.mpegurl');
    expect(types.get('.mpd')).toBe('application/dash+xml');
    expect(types.get('.m4s')).toBe('video/iso.segment');
    expect(types.get('.jpg')).toBe('image/jpeg');
    expect(types.get('.vtt')).toBe('text/vtt');
  });

  it('agrees with the pure ladder builder', () => {
    const ladder = buildLadder(manifest.source);
    expect(ladder.video.map((r) => r.name)).toEqual(manifest.renditions.map((r) => r.name));
  });
});

/** pts (s) of the first packet ffprobe reads from a file. */
async function firstPacketPts(file: string): Promise<number> {
  const { stdout } = await promisify(execFile)('ffprobe', [
    '-v', 'error', '-show_entries', 'packet=pts_time', '-read_intervals', '%+#1', '-of', 'csv=p=0', file,
  ]);
  return Number(stdout.trim().split('\n')[0]);
}

/** init + segments of a rendition joined into one file (what a player feeds its decoder), cached per playlist. */
async function concatenated(outputDir: string, playlistPath: string): Promise<string> {
  const target = join(tmpdir(), `concat-${createHash('sha1').update(outputDir + playlistPath).digest('hex')}.mp4`);
  if (existsSync(target)) return target;
  const playlist = parseMediaPlaylist(await readFile(join(outputDir, playlistPath), 'utf8'));
  const dir = join(outputDir, posix.dirname(playlistPath));
  const parts = [playlist.initUri!, ...playlist.segments.map((s) => s.uri)];
  const buffers = await Promise.all(parts.map((p) => readFile(join(dir, p))));
  await writeFile(target, Buffer.concat(buffers));
  work.push(target);
  return target;
}
