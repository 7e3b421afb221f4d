// `npm run bench:transcode`: the same generated 1080p source through (A) the single-process ladder of libs/media
// (one ffmpeg decodes once and encodes every rung) and (B) one ffmpeg run per rendition with the same arguments,
// in one run. Prints both wall times, the ratio B/A (goal ≥ 1.4), the speed in × realtime and the CPU time.
//
// Options: --duration <s> (default 20), --preset <x264 preset> (default veryfast), --runs <n> (default 1; A and B
// alternate, medians reported), --source camera|light (default camera), --json (one JSON line only), --keep (keep
// the outputs).
//
// The source: `camera` is encoded like a phone or camera upload (H.264 High, B-frames, CABAC, 12 Mbit/s), so that
// decoding it costs what decoding real uploads costs; `light` (ultrafast, CRF 23, no B-frames nor CABAC) decodes
// almost for free and shows the floor of the gain.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { buildLadder, buildTranscodeArgs, probe, runFfmpeg, transcode, validateProbe, X264_PRESETS, type X264Preset } from '@kinora/media';
import { splitLadder } from './per-rendition.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    preset: { type: 'string', default: 'veryfast' },
    runs: { type: 'string', default: '1' },
    source: { type: 'string', default: 'camera' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const durationSec = Number(values.duration);
const runs = Math.max(1, Math.trunc(Number(values.runs)));
const preset = values.preset as X264Preset;
const sourceKind = values.source;
if (!(durationSec > 0) || !X264_PRESETS.includes(preset) || (sourceKind !== 'camera' && sourceKind !== 'light')) {
  console.error(`usage: npm run bench:transcode -- [--duration 20] [--preset ${X264_PRESETS.join('|')}] [--runs 1] [--source camera|light] [--json] [--keep]`);
  process.exit(2);
}
const say = (line: string) => {
  if (!values.json) console.log(line);
};

/** CPU seconds (user + system) of the waited-for children of this process, from /proc/self/stat. */
function childCpuSec(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3; cutime and cstime are fields 16 and 17 (1-based) → indexes 13 and 14.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function generateSource(): Promise<string> {
  const dir = join(root, '.cache/media-fixtures');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, sourceKind === 'camera' ? `bench-1920x1080-30fps-${durationSec}s-av-12M.mp4` : `bench-1920x1080-30fps-${durationSec}s-av.mp4`);
  if (existsSync(path)) return path;
  const tmp = `${path}.${process.pid}.tmp.mp4`;
  say(`generating the ${sourceKind} source (${durationSec} s of 1920×1080 at 30 fps with audio, lavfi testsrc2 + sine)…`);
  const video =
    sourceKind === 'camera'
      ? ['-c:v', 'libx264', '-preset', 'fast', '-profile:v', 'high', '-b:v', '12M', '-maxrate', '12M', '-bufsize', '24M', '-g', '60', '-bf', '2']
      : ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '23'];
  await run('ffmpeg', [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30:duration=${durationSec}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${durationSec}`,
    ...video, '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-f', 'mp4', tmp,
  ]);
  await rename(tmp, path);
  return path;
}

interface Measure {
  wallSec: number;
  cpuSec: number;
}

async function measure(fn: () => Promise<void>): Promise<Measure> {
  const cpu0 = childCpuSec();
  const t0 = performance.now();
  await fn();
  return { wallSec: (performance.now() - t0) / 1000, cpuSec: childCpuSec() - cpu0 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const input = await generateSource();
const probed = await probe(input, { countPackets: true });
const source = validateProbe(probed);
const ladder = buildLadder(source);
const work = await mkdtemp(join(tmpdir(), 'kinora-bench-transcode-'));
const options = { preset, poster: false, storyboard: false } as const;

say(`source (${sourceKind}): ${input}`);
say(`        ${source.video.width}×${source.video.height}, ${source.durationSec.toFixed(2)} s, audio ${source.audio ? 'yes' : 'no'}`);
say(`ladder: ${ladder.video.map((r) => `${r.name} ${r.width}×${r.height}@${r.videoKbps}k`).join(', ')}; audio ${ladder.audio.map((a) => a.name).join(', ') || 'none'}`);
say(`preset ${preset}, GOP ${ladder.gopFrames} frames, poster and storyboard off on both sides; ${runs} run(s) each, alternating`);

const single: Measure[] = [];
const perRendition: Measure[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? (['single', 'per'] as const) : (['per', 'single'] as const);
    for (const which of order) {
      if (which === 'single') {
        const out = join(work, `single-${i}`);
        const m = await measure(async () => {
          await transcode({ input, outputDir: out, probeResult: probed, ...options });
        });
        single.push(m);
        say(`  A single process:        ${m.wallSec.toFixed(1)} s wall, ${m.cpuSec.toFixed(1)} s CPU`);
      } else {
        const m = await measure(async () => {
          for (const part of splitLadder(ladder)) {
            const out = join(work, `per-${i}-${part.video[0]!.name}`);
            mkdirSync(out, { recursive: true });
            await runFfmpeg(buildTranscodeArgs(source, part, input, out, options).args);
          }
        });
        perRendition.push(m);
        say(`  B one run per rendition: ${m.wallSec.toFixed(1)} s wall, ${m.cpuSec.toFixed(1)} s CPU`);
      }
    }
  }
} finally {
  if (!values.keep) await rm(work, { recursive: true, force: true });
}

const a = { wallSec: median(single.map((m) => m.wallSec)), cpuSec: median(single.map((m) => m.cpuSec)) };
const b = { wallSec: median(perRendition.map((m) => m.wallSec)), cpuSec: median(perRendition.map((m) => m.cpuSec)) };
const result = {
  date: new Date().toISOString(),
  machine: { host: hostname(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30), loadavg: loadavg().map((l) => Number(l.toFixed(2))) },
  ffmpeg: (await run('ffmpeg', ['-version'])).stdout.split('\n')[0],
  source: {
    kind: sourceKind,
    width: source.video.width,
    height: source.video.height,
    durationSec: Number(source.durationSec.toFixed(2)),
    audio: source.audio !== null,
    bitRate: probed.bitRate,
  },
  preset,
  renditions: ladder.video.map((r) => r.name),
  runs,
  single: { wallSec: round(a.wallSec), cpuSec: round(a.cpuSec), speedX: round(source.durationSec / a.wallSec) },
  perRendition: { wallSec: round(b.wallSec), cpuSec: round(b.cpuSec), speedX: round(source.durationSec / b.wallSec) },
  ratio: round(b.wallSec / a.wallSec),
  cpuRatio: round(b.cpuSec / a.cpuSec),
  goal: 1.4,
};

if (values.json) {
  console.log(JSON.stringify(result));
} else {
  say('');
  say(`A single process (libs/media transcode): ${result.single.wallSec} s wall, ${result.single.speedX}× realtime, ${result.single.cpuSec} s CPU`);
  say(`B one ffmpeg run per rendition:          ${result.perRendition.wallSec} s wall, ${result.perRendition.speedX}× realtime, ${result.perRendition.cpuSec} s CPU`);
  say(`ratio B/A: ${result.ratio} wall (goal ≥ ${result.goal}: ${result.ratio >= result.goal ? 'met' : 'NOT met'}), ${result.cpuRatio} CPU`);
  say(`machine: ${result.machine.cpus} × ${result.machine.cpuModel}, load ${result.machine.loadavg.join(' ')}; ${result.ffmpeg}`);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
