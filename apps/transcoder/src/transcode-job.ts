// Entry of the chunked transcode's Job pods: `node apps/transcoder/dist/transcode-job.js <plan|chunk|audio|join> …`.
// One line of JSON on stdout when a step succeeds, one line on stderr (`transcode-job <step>: <reason>`) and a
// non-zero exit code when it fails; logs (JSON) go to stderr before it. See the README, "Chunked transcoding".
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '@kinora/config';
import { ChunkIndexError, InvalidMediaError, type MediaLogger } from '@kinora/media';
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

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/**
 * JSON lines on stderr, the fields pino writes (the services' logger): a Job step is a short process, and loading
 * the services' observability stack cost it seconds of start-up on a busy node.
 */
export function stderrLogger(level: string, write: (line: string) => void = (l) => process.stderr.write(l)): MediaLogger {
  const threshold = LEVELS[level] ?? Number.POSITIVE_INFINITY; // 'silent'
  const log = (n: number) => (obj: object, msg?: string) => {
    if (n < threshold) return;
    const fields: Record<string, unknown> = { ...obj };
    const err = fields['err'];
    if (err instanceof Error) fields['err'] = { type: err.name, message: err.message, stack: err.stack };
    write(`${JSON.stringify({ level: n, time: new Date().toISOString(), service: 'transcode-job', ...fields, msg })}\n`);
  };
  return { debug: log(20), info: log(30), warn: log(40), error: log(50) };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const step = argv.find((a) => !a.startsWith('-')) ?? 'transcode-job';
  const fail = (error: unknown, logger?: MediaLogger) => {
    const code = exitCodeOf(error);
    const message = error instanceof InvalidMediaError ? error.reason : (error as Error).message;
    if (code === EXIT.failed) logger?.error({ err: error }, 'step failed');
    process.stderr.write(`transcode-job ${step}: ${message.replace(/\s+/g, ' ')}${code === EXIT.usage ? ` (${USAGE})` : ''}\n`);
    process.exitCode = code;
  };
  // A wrong command line fails before anything is loaded or opened.
  try {
    parseJobArgs(argv);
  } catch (error) {
    return fail(error);
  }
  const config = loadConfigOrExit();
  const logger = stderrLogger(config.logLevel);
  const store = createStore(config.storageUrl);
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('terminated'));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
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
    // In a Job Pod the result is also the container's termination message, which the operator reads: no shell
    // redirect needed (the images have no shell).
    if (config.transcodeResultFile) await writeFile(config.transcodeResultFile, `${stdout}\n`);
    process.exitCode = EXIT.ok;
  } catch (error) {
    fail(error, logger);
  } finally {
    await store.close().catch(() => {});
  }
}

// Run only as the process entry, not when a test imports the module.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
