// HOOK for the integrator (issue #16 × the chunked transcoder): a real clip through the operator's Jobs, run by the
// local pod runner as local processes of the REAL transcoder Job entry (`apps/transcoder/dist/transcode-job.js`,
// from the `chunks` branch), must produce the same playable ladder as the single-process path (`transcode()` of
// libs/media). Skipped while that entry does not exist in this checkout; once both branches are merged and built
// (`npm test` runs `tsc -b` first) it runs. What it needs beyond the operator suite: ffmpeg (ensureFfmpeg) and a
// file:// object store that the steps share through STORAGE_URL.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureFfmpeg } from '@kinora/testing';
import { transcode } from '@kinora/media';
import type { EventBus } from '@kinora/events';
import { Operator } from '../../src/operator.js';
import { LocalPodRunner } from '../../src/dev/local-pod-runner.js';
import { DEFAULT_TRANSCODE_COMMAND } from '../../src/reconcile/transcodejob.jobs.js';
import type { TranscodeJob } from '../../src/api/v1alpha1/transcodejob.types.js';
import { createNamespace, eventually, repoDir, startTestCluster, type TestCluster } from './cluster.js';

const run = promisify(execFile);
// KINORA_TRANSCODER_CHECKOUT: run the entry of another (built) checkout, to try the two branches together before a merge.
const checkout = process.env['KINORA_TRANSCODER_CHECKOUT'] ?? repoDir;
const ENTRY = join(checkout, 'apps', 'transcoder', 'dist', 'transcode-job.js');
const suite = existsSync(ENTRY) ? describe : describe.skip;
const NS = 'real-clip';

suite('chunked transcoding of a real clip through the operator (needs the transcoder Job entry)', () => {
  let cluster: TestCluster;
  let operator: Operator;
  let runner: LocalPodRunner;
  let dir: string;
  const published: unknown[] = [];
  // The outcome event is checked by the operator suite; here only the media matters.
  const bus: EventBus = {
    ensureTopics: async () => {},
    publish: async (_topic, messages) => void published.push(...messages),
    subscribe: async () => {
      throw new Error('not used');
    },
    close: async () => {},
  };

  beforeAll(async () => {
    await ensureFfmpeg();
    dir = mkdtempSync(join(tmpdir(), 'kinora-real-clip-'));
    mkdirSync(join(dir, 'store', 'uploads'), { recursive: true });
    // 24 s, 640x360, 30 fps, a moving pattern and a tone: three 8 s chunks.
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=24', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=24', '-c:v', 'libx264', '-g', '30', '-c:a', 'aac', '-shortest', join(dir, 'store', 'uploads', 'clip.mp4')]);
    cluster = await startTestCluster();
    await createNamespace(cluster.client, NS);
    operator = new Operator({
      client: cluster.client,
      namespace: NS,
      bus,
      controllers: ['TranscodeJob'],
      leaderElection: false,
      jobTemplate: {
        image: 'kinora/kinora:test',
        command: DEFAULT_TRANSCODE_COMMAND,
        env: [
          { name: 'STORAGE_URL', value: `file://${join(dir, 'store')}` },
          { name: 'KINORA_DATA_DIR', value: join(dir, 'data') },
          { name: 'LOG_LEVEL', value: 'warn' },
        ],
      },
    });
    await operator.start();
    runner = new LocalPodRunner({ client: cluster.client, namespace: NS, cwd: checkout });
    await runner.start();
  }, 600_000);

  afterAll(async () => {
    await runner?.stop();
    await operator?.stop();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('produces the same ladder as the single-process transcode', async () => {
    await cluster.client.create({ apiVersion: 'kinora.io/v1alpha1', plural: 'transcodejobs', namespace: NS }, {
      apiVersion: 'kinora.io/v1alpha1',
      kind: 'TranscodeJob',
      metadata: { name: 'clip', namespace: NS },
      spec: { videoId: 'clip', source: { key: 'uploads/clip.mp4', height: 360 }, outputPrefix: 'media/clip/', chunking: { chunkSeconds: 8, maxParallel: 2 }, maxAttempts: 1 },
    });
    const done = await eventually('clip transcoded', async () => {
      const tj = await cluster.client.get<TranscodeJob>({ apiVersion: 'kinora.io/v1alpha1', plural: 'transcodejobs', namespace: NS, name: 'clip' });
      if (tj.status?.phase === 'Failed') throw new Error(`transcode failed: ${tj.status.lastFailure}`);
      return tj.status?.phase === 'Succeeded' ? tj : undefined;
    }, 280_000);
    expect(done.status!.chunks!.total).toBe(3);
    const result = done.status!.result as { renditions: { width: number; height: number; codecs: string }[]; hlsKey: string; dashKey: string };
    expect(existsSync(join(dir, 'store', result.hlsKey))).toBe(true);
    expect(existsSync(join(dir, 'store', result.dashKey))).toBe(true);

    const single = await transcode({ input: join(dir, 'store', 'uploads', 'clip.mp4'), outputDir: join(dir, 'single') });
    const rungs = (r: { width: number; height: number; codecs: string }[]) => r.map((x) => `${x.width}x${x.height} ${x.codecs}`).sort();
    expect(rungs(result.renditions)).toEqual(rungs(single.renditions));
    // Playable: ffprobe reads the chunked master playlist through to its end, as long as the single-process one.
    const duration = async (file: string) => Number((await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file])).stdout.trim());
    const chunked = await duration(join(dir, 'store', result.hlsKey));
    const whole = await duration(join(dir, 'single', 'master.m3u8'));
    expect(Math.abs(chunked - whole)).toBeLessThan(0.5);
    expect(readFileSync(join(dir, 'store', result.hlsKey), 'utf8')).toMatch(/#EXT-X-STREAM-INF/);
  }, 300_000);
});
