import { execFile } from 'node:child_process';

export interface FfmpegLocation {
  /** What to spawn: the configured path, or the bare name resolved on the PATH. */
  ffmpeg: string;
  ffprobe: string;
  /** Where it came from: `FFMPEG_PATH` / `FFPROBE_PATH` configuration, or the PATH. */
  source: 'config' | 'PATH';
  /** First line of `ffmpeg -version` without the copyright (`ffmpeg version 5.1.9-0+deb12u1`). */
  version: string;
}

export interface LocateOptions {
  /** Configured executables (`FFMPEG_PATH`, `FFPROBE_PATH`); unset: `ffmpeg` / `ffprobe` on the PATH. */
  ffmpegPath?: string | undefined;
  ffprobePath?: string | undefined;
  /** Per command. Default 15 s (the smoke encode starts libx264). */
  timeoutMs?: number;
}

export const FFMPEG_INSTALL_HINT =
  'install it (Debian/Ubuntu: apt-get install -y --no-install-recommends ffmpeg) or set FFMPEG_PATH and FFPROBE_PATH';

/** No usable ffmpeg/ffprobe: `message` is one line saying what is missing and how to get it. */
export class FfmpegUnavailableError extends Error {
  override readonly name = 'FfmpegUnavailableError';

  constructor(
    message: string,
    /** What the tool said (stderr tail), for logs. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

function exec(file: string, args: readonly string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr: String(stderr) }));
      else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? ''
  );
}

async function version(tool: 'ffmpeg' | 'ffprobe', file: string, configured: boolean, timeoutMs: number): Promise<string> {
  const variable = tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
  try {
    const { stdout } = await exec(file, ['-version'], timeoutMs);
    return (stdout.split('\n')[0] ?? '').replace(/\s+Copyright.*$/, '').trim();
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new FfmpegUnavailableError(
        configured ? `${tool} not found at ${file} (${variable}): ${FFMPEG_INSTALL_HINT}` : `${tool} not found on the PATH: ${FFMPEG_INSTALL_HINT}`,
      );
    }
    if (e.code === 'EACCES') throw new FfmpegUnavailableError(`${tool} at ${file} is not executable (${variable}): chmod +x it or ${FFMPEG_INSTALL_HINT}`);
    throw new FfmpegUnavailableError(`${tool} -version failed (${file}): ${lastLine(e.stderr ?? '') || e.message}`, e.stderr);
  }
}

/**
 * Finds the ffmpeg and ffprobe this process will use (the configured paths, else the PATH) and checks that they can
 * do the ladder's work: a tenth of a second of lavfi video and audio through libx264 and aac with `-fps_mode`, the
 * option the ladder needs that old builds lack. Throws {@link FfmpegUnavailableError} with one line saying what is
 * missing and how to install it.
 */
export async function locateFfmpeg(options: LocateOptions = {}): Promise<FfmpegLocation> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const ffmpeg = options.ffmpegPath ?? 'ffmpeg';
  const ffprobe = options.ffprobePath ?? 'ffprobe';
  const v = await version('ffmpeg', ffmpeg, options.ffmpegPath !== undefined, timeoutMs);
  await version('ffprobe', ffprobe, options.ffprobePath !== undefined, timeoutMs);
  // One tiny encode with the features the ladder relies on (see transcode-args.builder.ts).
  const smoke = [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'color=c=black:s=64x64:r=30:d=0.1',
    '-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=stereo',
    '-t', '0.1', '-map', '0:v', '-map', '1:a', '-fps_mode', 'cfr',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-f', 'null', '-',
  ];
  try {
    await exec(ffmpeg, smoke, timeoutMs);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    const said = lastLine(e.stderr ?? '') || e.message;
    throw new FfmpegUnavailableError(`${ffmpeg} (${v}) cannot encode the ladder (libx264, aac, -fps_mode; ffmpeg 5.1 or newer): ${said}`, e.stderr);
  }
  return { ffmpeg, ffprobe, source: options.ffmpegPath !== undefined || options.ffprobePath !== undefined ? 'config' : 'PATH', version: v };
}
