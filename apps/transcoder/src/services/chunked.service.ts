// The four work units of a chunked transcode (plan, chunk, audio, join) over the object store: each downloads what
// it needs into a scratch folder, runs its libs/media step and uploads what it made under the work prefix (join: the
// ladder under the output prefix). The Job pods' entry (transcode-job.ts) and in-process callers (tests, a launcher
// without a kubelet) call the same functions.
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { TranscodeSucceededV1 } from '@kinora/contracts';
import {
  checkChunkIndex,
  encodeAudio,
  encodeChunk,
  joinChunks,
  mediaContentType,
  planChunkedTranscode,
  type ChunkedPlan,
  type MediaLogger,
  type ValidationLimits,
  type X264Preset,
} from '@kinora/media';
import { ObjectNotFoundError, type ObjectStore } from '@kinora/storage';
import { MediaRepository } from '../repositories/media.repository.js';
import { StorageOperationError } from './failure.classifier.js';
import { normalizePrefix, planUpload, type UploadStep } from './output.plan.js';

export interface ChunkedDeps {
  store: ObjectStore;
  logger: MediaLogger;
  /** Scratch root; each unit works in a fresh folder under it and removes it. */
  workDir: string;
  preset: X264Preset;
  /** Wanted chunk length (s), `TRANSCODE_CHUNK_SEC`. */
  chunkSec: number;
  ffmpegPath?: string;
  ffprobePath?: string;
  limits?: ValidationLimits;
  threads?: number;
  signal?: AbortSignal;
}

export interface ChunkedJobRef {
  videoId: string;
  /** The uploaded source (`uploads/<videoId>`). */
  sourceKey: string;
  /** Where the units keep the plan and their outputs; default `<sourceKey>.chunks/`. */
  workPrefix?: string;
  /** Where the ladder goes (`media/<videoId>/`); join only. */
  outputPrefix?: string;
}

/** A plan, chunk or audio object the unit needs is not in the store (a unit ran before the one that writes it). */
export class MissingWorkError extends Error {
  override readonly name = 'MissingWorkError';
}

/** `<sourceKey>.chunks/`, or the given prefix with a trailing slash. */
export function workPrefixOf(ref: ChunkedJobRef): string {
  return normalizePrefix(ref.workPrefix ?? `${ref.sourceKey}.chunks/`);
}

export const PLAN_FILE = 'plan.json';
const chunkPrefix = (work: string, index: number) => `${work}chunk-${index}/`;
const audioPrefix = (work: string) => `${work}audio/`;

/** Probes the source, cuts it, stores the plan at `<work>plan.json`; returns it. */
export async function planJob(deps: ChunkedDeps, ref: ChunkedJobRef): Promise<ChunkedPlan> {
  const work = workPrefixOf(ref);
  return withScratch(deps, 'plan', async (dir, media) => {
    const source = join(dir, 'source');
    await media.download(ref.sourceKey, source, signalOf(deps));
    const plan = await planChunkedTranscode({
      input: source,
      targetChunkSec: deps.chunkSec,
      preset: deps.preset,
      limits: deps.limits,
      ffmpegPath: deps.ffmpegPath,
      ffprobePath: deps.ffprobePath,
      signal: deps.signal,
      logger: deps.logger,
    });
    await putObject(deps.store, `${work}${PLAN_FILE}`, Buffer.from(JSON.stringify(plan)), 'application/json');
    deps.logger.info({ videoId: ref.videoId, chunks: plan.chunks.length, work }, 'chunk plan stored');
    return plan;
  });
}

/** Reads the stored plan (MissingWorkError when `plan` has not run). */
export async function readPlan(store: ObjectStore, ref: ChunkedJobRef): Promise<ChunkedPlan> {
  const key = `${workPrefixOf(ref)}${PLAN_FILE}`;
  let text: string;
  try {
    const { body } = await store.get(key);
    const parts: Buffer[] = [];
    for await (const part of body) parts.push(part as Buffer);
    text = Buffer.concat(parts).toString('utf8');
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw new MissingWorkError(`no chunk plan at ${key}: run the plan step first`);
    throw new StorageOperationError('get', key, error);
  }
  const plan = JSON.parse(text) as ChunkedPlan;
  if (plan.version !== 1 || !Array.isArray(plan.chunks)) throw new Error(`${key} is not a chunk plan of this version`);
  return plan;
}

/** Encodes chunk `index` of the stored plan; its outputs go to `<work>chunk-<index>/`. Returns its frame count. */
export async function chunkJob(deps: ChunkedDeps, ref: ChunkedJobRef, index: number): Promise<{ index: number; frames: number }> {
  const work = workPrefixOf(ref);
  const plan = await readPlan(deps.store, ref);
  checkChunkIndex(plan, index);
  return withScratch(deps, `chunk-${index}`, async (dir, media) => {
    const source = join(dir, 'source');
    await media.download(ref.sourceKey, source, signalOf(deps));
    const out = join(dir, 'out');
    const result = await encodeChunk({
      input: source,
      plan,
      index,
      outputDir: out,
      threads: deps.threads,
      ffmpegPath: deps.ffmpegPath,
      ffprobePath: deps.ffprobePath,
      signal: deps.signal,
      logger: deps.logger,
    });
    await uploadFolder(media, out, result.files, chunkPrefix(work, index), signalOf(deps));
    deps.logger.info({ videoId: ref.videoId, index, frames: result.frames, elapsedMs: result.elapsedMs }, 'chunk encoded');
    return { index, frames: result.frames };
  });
}

/** Encodes the whole source's audio into `<work>audio/`; `audio: false` (nothing written) for a silent source. */
export async function audioJob(deps: ChunkedDeps, ref: ChunkedJobRef): Promise<{ audio: boolean }> {
  const work = workPrefixOf(ref);
  const plan = await readPlan(deps.store, ref);
  if (plan.ladder.audio.length === 0) return { audio: false };
  return withScratch(deps, 'audio', async (dir, media) => {
    const source = join(dir, 'source');
    await media.download(ref.sourceKey, source, signalOf(deps));
    const out = join(dir, 'out');
    const result = await encodeAudio({ input: source, plan, outputDir: out, ffmpegPath: deps.ffmpegPath, ffprobePath: deps.ffprobePath, signal: deps.signal, logger: deps.logger });
    await uploadFolder(media, out, result?.files ?? [], audioPrefix(work), signalOf(deps));
    return { audio: true };
  });
}

export interface JoinOptions {
  /** Leave the plan and the chunks' outputs in the store (default: deleted once the ladder is stored). */
  keepWork?: boolean;
}

/**
 * Downloads every chunk's and the audio's outputs, joins them into the ladder, stores it under the output prefix
 * exactly as the single-process worker does (media first, then playlists, then master and MPD; stale objects of an
 * earlier ladder removed), deletes the work objects, and returns the `TranscodeSucceeded.v1` payload.
 */
export async function joinJob(deps: ChunkedDeps, ref: ChunkedJobRef, options: JoinOptions = {}): Promise<TranscodeSucceededV1> {
  if (!ref.outputPrefix) throw new Error('the join needs the output prefix');
  const prefix = normalizePrefix(ref.outputPrefix);
  const work = workPrefixOf(ref);
  const plan = await readPlan(deps.store, ref);
  const payload = await withScratch(deps, 'join', async (dir, media) => {
    const chunkDirs: string[] = [];
    for (const chunk of plan.chunks) {
      const local = join(dir, `chunk-${chunk.index}`);
      const n = await downloadPrefix(deps.store, chunkPrefix(work, chunk.index), local);
      if (n === 0) throw new MissingWorkError(`chunk ${chunk.index} has no output under ${chunkPrefix(work, chunk.index)}: run its chunk step first`);
      chunkDirs.push(local);
    }
    let audioDir: string | null = null;
    if (plan.ladder.audio.length > 0) {
      audioDir = join(dir, 'audio');
      if ((await downloadPrefix(deps.store, audioPrefix(work), audioDir)) === 0) {
        throw new MissingWorkError(`the audio has no output under ${audioPrefix(work)}: run the audio step first`);
      }
    }
    const outputDir = join(dir, 'out');
    const manifest = await joinChunks({ plan, chunkDirs, audioDir, outputDir, ffmpegPath: deps.ffmpegPath, ffprobePath: deps.ffprobePath, signal: deps.signal, logger: deps.logger });
    if (!manifest.poster) throw new Error('the chunks wrote no poster');
    const upload = planUpload(prefix, manifest.files);
    await media.upload(outputDir, upload.stages, signalOf(deps));
    await media.removeStale(prefix, upload.keys);
    const result: TranscodeSucceededV1 = {
      videoId: ref.videoId,
      durationSec: manifest.durationSec,
      width: plan.source.video.width,
      height: plan.source.video.height,
      renditions: manifest.renditions.map((r) => ({ height: r.height, width: r.width, bandwidth: r.bandwidth, codecs: r.codecs })),
      hlsKey: `${prefix}${manifest.hls}`,
      dashKey: `${prefix}${manifest.dash}`,
      thumbnailKey: `${prefix}${manifest.poster.path}`,
      storyboardVttKey: manifest.storyboard ? `${prefix}${manifest.storyboard.vtt}` : null,
    };
    return result;
  });
  if (!options.keepWork) await deps.store.deletePrefix(work).catch((err: unknown) => deps.logger.warn({ err, work }, 'could not delete the chunk work objects'));
  deps.logger.info({ videoId: ref.videoId, hlsKey: payload.hlsKey, chunks: plan.chunks.length }, 'chunked transcode joined and stored');
  return payload;
}

async function withScratch<T>(deps: ChunkedDeps, unit: string, fn: (dir: string, media: MediaRepository) => Promise<T>): Promise<T> {
  await mkdir(deps.workDir, { recursive: true });
  const dir = await mkdtemp(join(deps.workDir, `${unit}-`));
  const media = new MediaRepository(deps.store, deps.logger, { ffmpegPath: deps.ffmpegPath, ffprobePath: deps.ffprobePath });
  try {
    return await fn(dir, media);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function signalOf(deps: ChunkedDeps): AbortSignal {
  return deps.signal ?? new AbortController().signal;
}

async function uploadFolder(media: MediaRepository, dir: string, files: readonly string[], prefix: string, signal: AbortSignal): Promise<void> {
  const steps: UploadStep[] = files.map((path) => ({ path, key: `${prefix}${path}`, contentType: mediaContentType(path), bytes: 0 }));
  await media.upload(dir, [steps], signal);
}

/** Copies every object under `prefix` into `dir` (keeping the rest of the key as the path); returns how many. */
async function downloadPrefix(store: ObjectStore, prefix: string, dir: string): Promise<number> {
  let objects;
  try {
    objects = await store.list(prefix);
  } catch (error) {
    throw new StorageOperationError('list', prefix, error);
  }
  for (const o of objects) {
    const path = join(dir, ...o.key.slice(prefix.length).split(posix.sep));
    await mkdir(dirname(path), { recursive: true });
    try {
      const { body } = await store.get(o.key);
      await pipeline(body, createWriteStream(path));
    } catch (error) {
      throw new StorageOperationError('get', o.key, error);
    }
  }
  return objects.length;
}

async function putObject(store: ObjectStore, key: string, body: Buffer, contentType: string): Promise<void> {
  try {
    await store.put(key, body, { contentType });
  } catch (error) {
    throw new StorageOperationError('put', key, error);
  }
}

