// Entry of the chunked transcode's Job pods: `node apps/transcoder/dist/transcode-job.js <plan|chunk|audio|join> …`.
// One line of JSON on stdout when a step succeeds, one line on stderr (`transcode-job <step>: <reason>`) and a
// non-zero exit code when it fails; logs (JSON) go to stderr before it. See the README, "Chunked transcoding".
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '@kinora/config';
import { ChunkIndexError, InvalidMediaError } from '@kinora/media';
import { createLogger } from '@kinora/observability';
import { InvalidKeyError, createStore } from '@kinora/storage';
import { audioJob, chunkJob, joinJob, MissingWorkError, planJob, type ChunkedDeps, type ChunkedJobRef } from './services/chunked.service.js';
import { SourceMissingError } from './services/failure.classifier.js';

/** Exit codes: what a Job controller needs to tell a retry from a lost cause. */
export const EXIT = {
  ok: 0,
  /** Anything transient (storage, ffmpeg crashed, …): retrying may help. */
  failed: 1,
  /** Wrong command line (unknown step, missing or bad option, chunk index out of range): retrying cannot help. */
  usage: 2,
  /** The source is not a usable video (InvalidMediaError): retrying cannot help; the reason is for the uploader. */
  invalidMedia: 3,
  /** The source, the plan or an earlier step's output is not in the store. */
  missing: 4,
} as const;

const STEPS = ['plan', 'chunk', 'audio', 'join'] as const;
type Step = (typeof STEPS)[number];

class UsageError extends Error {}

const USAGE =
  'usage: transcode-job <plan|chunk|audio|join> --video <id> --source <key> [--work <prefix>] ' +
  '[--index <i>] [--output <prefix>] [--chunk-sec <s>] [--keep-work]';

interface Parsed {
  step: Step;
  ref: ChunkedJobRef;
  index?: number;
  chunkSec?: number;
  keepWork: boolean;
}

/** Pure: argv (without node and the script) → what to run; UsageError for anything wrong. */
export function parseJobArgs(argv: readonly string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        video: { type: 'string' },
        source: { type: 'string' },
        work: { type: 'string' },
        index: { type: 'string' },
        output: { type: 'string' },
        'chunk-sec': { type: 'string' },
        'keep-work': { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const step = positionals[0] as Step | undefined;
  if (!step || !STEPS.includes(step) || positionals.length > 1) {
    throw new UsageError(`expected one step (${STEPS.join(', ')}), got ${positionals.length ? positionals.join(' ') : 'none'}`);
  }
  if (!values.video) throw new UsageError('--video <id> is required');
  if (!values.source) throw new UsageError('--source <key> is required');
  const ref: ChunkedJobRef = { videoId: values.video, sourceKey: values.source, workPrefix: values.work, outputPrefix: values.output };
  let index: number | undefined;
  if (step === 'chunk') {
    if (values.index === undefined) throw new UsageError('chunk needs --index <i>');
    if (!/^\d+$/.test(values.index)) throw new UsageError(`--index must be a whole number ≥ 0, got "${values.index}"`);
    index = Number(values.index);
  } else if (values.index !== undefined) {
    throw new UsageError(`--index is only for the chunk step`);
  }
  if (step === 'join' && !values.output) throw new UsageError('join needs --output <prefix> (where the ladder goes, e.g. media/<id>/)');
  let chunkSec: number | undefined;
  if (values['chunk-sec'] !== undefined) {
    chunkSec = Number(values['chunk-sec']);
    if (step !== 'plan') throw new UsageError('--chunk-sec is only for the plan step');
    if (!Number.isInteger(chunkSec) || chunkSec < 4 || chunkSec > 3600) throw new UsageError(`--chunk-sec must be a whole number of seconds, 4-3600, got "${values['chunk-sec']}"`);
  }
  return { step, ref, index, chunkSec, keepWork: values['keep-work'] === true };
}

/** The exit code of a failure. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || error instanceof ChunkIndexError || error instanceof InvalidKeyError) return EXIT.usage;
  if (error instanceof InvalidMediaError) return EXIT.invalidMedia;
  if (error instanceof SourceMissingError || error instanceof MissingWorkError) return EXIT.missing;
  return EXIT.failed;
}

/** Runs one step with configuration from the environment; what the process prints and exits with. */
export async function runJobStep(argv: readonly string[], deps: ChunkedDeps): Promise<{ stdout: string }> {
  const { step, ref, index, chunkSec, keepWork } = parseJobArgs(argv);
  const d = chunkSec ? { ...deps, chunkSec } : deps;
  switch (step) {
    case 'plan': {
      const plan = await planJob(d, ref);
      return { stdout: JSON.stringify({ chunks: plan.chunks.length }) };
    }
    case 'chunk':
      return { stdout: JSON.stringify(await chunkJob(d, ref, index!)) };
    case 'audio':
      return { stdout: JSON.stringify(await audioJob(d, ref)) };
    case 'join':
      return { stdout: JSON.stringify(await joinJob(d, ref, { keepWork })) };
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const step = argv.find((a) => !a.startsWith('-')) ?? 'transcode-job';
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.logLevel, name: 'transcode-job', destination: process.stderr });
  const store = createStore(config.storageUrl);
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('terminated'));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let code: number = EXIT.ok;
  try {
    const { stdout } = await runJobStep(argv, {
      store,
      logger,
      workDir: config.transcodeWorkDir,
      preset: config.transcodePreset,
      chunkSec: config.transcodeChunkSec,
      ffmpegPath: config.ffmpegPath,
      ffprobePath: config.ffprobePath,
      signal: controller.signal,
    });
    process.stdout.write(`${stdout}\n`);
  } catch (error) {
    code = exitCodeOf(error);
    const message = error instanceof InvalidMediaError ? error.reason : (error as Error).message;
    if (code === EXIT.failed) logger.error({ err: error }, 'step failed');
    process.stderr.write(`transcode-job ${step}: ${message.replace(/\s+/g, ' ')}${code === EXIT.usage ? ` (${USAGE})` : ''}\n`);
  } finally {
    await store.close().catch(() => {});
  }
  process.exitCode = code;
}

// Run only as the process entry, not when a test imports the module.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
