import { posix } from 'node:path';
import { validatePrefix } from '@kinora/storage';

export interface OutputFileRef {
  /** Relative to the job's output directory, `/`-separated. */
  path: string;
  contentType: string;
  bytes: number;
}

export interface UploadStep extends OutputFileRef {
  key: string;
}

export interface UploadPlan {
  /**
   * Upload stages, in order: media (segments, init segments, poster, sprites), then media playlists and the
   * storyboard index, then the master playlist and the MPD. A stage starts when the previous one is complete.
   */
  stages: UploadStep[][];
  /** Every key of this transcode: what the prefix holds once the upload is complete. */
  keys: Set<string>;
}

/** `media/<id>` → `media/<id>/`. Throws InvalidKeyError for a prefix the store would refuse. */
export function normalizePrefix(prefix: string): string {
  const withSlash = prefix.endsWith('/') ? prefix : `${prefix}/`;
  // '' becomes '/', which validatePrefix refuses (empty key): the whole store is never an output prefix.
  validatePrefix(withSlash);
  return withSlash;
}

/**
 * Where each output file goes and in which order. The keys are deterministic (the prefix plus the file's path in
 * the output directory), so a retry overwrites what an interrupted attempt left instead of adding to it; the files
 * that reference others are written after them, so a reader that finds a manifest finds everything it names.
 */
export function planUpload(prefix: string, files: readonly OutputFileRef[]): UploadPlan {
  const stages: UploadStep[][] = [[], [], []];
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of sorted) stages[rank(f.path)]!.push({ ...f, key: `${prefix}${f.path}` });
  return { stages: stages.filter((s) => s.length > 0), keys: new Set(sorted.map((f) => `${prefix}${f.path}`)) };
}

function rank(path: string): 0 | 1 | 2 {
  const ext = posix.extname(path).toLowerCase();
  if (ext === '.m3u8' || ext === '.mpd') return path.includes('/') ? 1 : 2;
  if (ext === '.vtt') return 1;
  return 0;
}

