// A worker that stops mid-job, gracefully (shutdown: the job is given back at once) or not at all (SIGKILL: the job
// waits for its lease to expire), and the job that completes exactly once afterwards.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TranscodeSucceededV1 } from '@kinora/contracts';
import { waitFor } from '@kinora/events/testing';
import { ensureFfmpeg, getFreePort } from '@kinora/testing';
import { createTranscoderModule, type TranscoderModule } from '../../src/index.js';
import { source } from '../fixtures.js';
import { createHarness, type Harness } from '../harness.js';
import { checkOutputs } from '../outputs.js';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../../..');
const main = join(root, 'apps/transcoder/dist/main.js');

let h: Harness;
let landscape: string;

interface Worker {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}
const workers: Worker[] = [];
const modules: TranscoderModule[] = [];

beforeAll(async () => {
  await ensureFfmpeg();
  const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'apps/transcoder')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  landscape = await source('landscape1080');
  h = await createHarness('transcoder_restart');
}, 180_000);

afterEach(async () => {
  for (const m of modules.splice(0)) await m.stop();
  for (const w of workers.splice(0)) {
    if (w.child.exitCode === null && w.child.signalCode === null) {
      w.child.kill('SIGTERM');
      await w.exited;
    }
  }
});

afterAll(async () => {
  await h?.close();
});

async function startWorker(): Promise<Worker> {
  const port = await getFreePort();
  let out = '';
  const child = spawn(process.execPath, [main], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATABASE_URL: h.tdb.url,
      STORAGE_URL: `file://${h.storeDir}`,
      KINORA_DATA_DIR: h.workDir,
      TRANSCODE_WORK_DIR: h.workDir,
      TRANSCODE_LEASE_MS: '3000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const worker = { child, port, output: () => out, exited };
  workers.push(worker);
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the worker exited with ${child.exitCode}: ${out}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200;
    },
    60_000,
    () => `the worker to be ready; output: ${out}`,
  );
  return worker;
}

async function job(videoId: string) {
  const { rows } = await h.database.primary.query(
    `SELECT state, attempts, progress, lease_owner, lease_expires_at FROM transcoder.jobs WHERE video_id = $1`,
    [videoId],
  );
  return rows[0] as { state: string; attempts: number; progress: number; lease_owner: string | null } | undefined;
}

/** ffmpeg processes whose parent is `ppid` and whose arguments name a folder under `dir`. */
async function ffmpegChildren(ppid: number, dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = await readFile(`/proc/${entry}/status`, 'utf8');
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) === ppid && cmdline[0]?.endsWith('ffmpeg') && cmdline.some((a) => a.includes(dir))) {
        pids.push(Number(entry));
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

function moduleFor(): TranscoderModule {
  const m = createTranscoderModule({
    config: { transcodeConcurrency: 1, transcodePreset: 'veryfast', transcodeMaxAttempts: 3, transcodeLeaseMs: 10_000, transcodeWorkDir: h.workDir },
    database: h.database,
    logger: h.logger,
    bus: h.bus,
    store: h.store,
    tuning: { pollIntervalMs: 200 },
  });
  modules.push(m);
  return m;
}

describe('a worker that stops mid-job', () => {
  it('on shutdown cancels ffmpeg and gives the job back; the next start runs it once', async () => {
    const videoId = randomUUID();
    const first = moduleFor();
    await first.start();
    await h.upload(videoId, landscape);
    await waitFor(async () => (await ffmpegChildren(process.pid, h.workDir)).length === 1, 60_000, 'ffmpeg to encode the ladder');
    expect(await job(videoId)).toMatchObject({ state: 'running', attempts: 1 });

    const t0 = Date.now();
    await first.stop();
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await ffmpegChildren(process.pid, h.workDir)).toEqual([]);
    // Given back: queued, the interrupted attempt not counted, no lease.
    expect(await job(videoId)).toMatchObject({ state: 'queued', attempts: 0, lease_owner: null });
    expect(h.eventsFor(videoId).filter((e) => e.type !== 'TranscodeProgress.v1')).toEqual([]);

    const second = moduleFor();
    await second.start();
    const final = await h.waitForFinal(videoId, 120_000);
    expect(final.type).toBe('TranscodeSucceeded.v1');
    expect(await job(videoId)).toMatchObject({ state: 'succeeded', attempts: 1 });
    const check = await checkOutputs(h.store, `media/${videoId}/`, final.payload as TranscodeSucceededV1);
    expect(check.missing).toEqual([]);
    expect(check.stored.length).toBe(check.referenced.size);
  }, 180_000);

  it('killed with SIGKILL: after a restart the job completes exactly once, with complete outputs and no duplicates', async () => {
    const videoId = randomUUID();
    const first = await startWorker();
    await h.upload(videoId, landscape);
    let orphans: number[] = [];
    await waitFor(
      async () => (orphans = await ffmpegChildren(first.child.pid!, h.workDir)).length === 1,
      60_000,
      () => `ffmpeg to encode the ladder; output: ${first.output()}`,
    );

    first.child.kill('SIGKILL');
    await first.exited;
    // ffmpeg outlives its killed parent (nothing kills it in a bare process; a container would take it down): end it.
    for (const pid of orphans) process.kill(pid, 'SIGKILL');
    const stuck = await job(videoId);
    expect(stuck).toMatchObject({ state: 'running', attempts: 1 });
    expect(stuck!.lease_owner).toContain(`/${first.child.pid}/`);
    expect((await readdir(h.workDir)).some((d) => d.includes(`-${first.child.pid}-`))).toBe(true);

    const second = await startWorker();
    const final = await h.waitForFinal(videoId, 150_000);
    expect(final.type).toBe('TranscodeSucceeded.v1');
    // Any second success would come soon after the first.
    await new Promise((r) => setTimeout(r, 2000));
    const finals = h.eventsFor(videoId).filter((e) => e.type !== 'TranscodeProgress.v1');
    expect(finals.map((e) => e.type)).toEqual(['TranscodeSucceeded.v1']);

    const after = await job(videoId);
    expect(after).toMatchObject({ state: 'succeeded', attempts: 2, lease_owner: null });
    const check = await checkOutputs(h.store, `media/${videoId}/`, final.payload as TranscodeSucceededV1);
    expect(check.missing).toEqual([]);
    expect(check.stored.filter((k) => !check.referenced.has(k))).toEqual([]);
    expect((final.payload as TranscodeSucceededV1).renditions.map((r) => r.height)).toEqual([144, 240, 360, 480, 720, 1080]);
    // The killed worker's scratch folder was cleaned up by its successor.
    expect((await readdir(h.workDir)).some((d) => d.includes(`-${first.child.pid}-`))).toBe(false);
    expect(second.output()).toContain('took over a job whose worker stopped heartbeating');

    const metrics = await (await fetch(`http://127.0.0.1:${second.port}/metrics`)).text();
    expect(metrics).toMatch(/^transcode_job_duration_seconds_count\{outcome="succeeded"\} 1$/m);
    expect(metrics).toMatch(/^transcode_speed_ratio_count 1$/m);
    expect(metrics).toMatch(/^transcode_jobs\{state="succeeded"\} 2$/m);
    expect(metrics).toContain('process_cpu_user_seconds_total');

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 240_000);
});
