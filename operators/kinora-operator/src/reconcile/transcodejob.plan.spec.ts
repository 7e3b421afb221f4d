import { describe, expect, it } from '@jest/globals';
import type { TranscodeJob } from '../api/v1alpha1/transcodejob.types.js';
import { decide, parsePlan, retryDelayMs, type ObservedStep } from './transcodejob.plan.js';
import { jobName, stepArgs } from './transcodejob.jobs.js';
import { stepResources } from './transcodejob.resources.js';

const now = new Date('2026-12-06T12:00:00Z');
function tj(status?: TranscodeJob['status'], spec: Partial<TranscodeJob['spec']> = {}): TranscodeJob {
  return {
    apiVersion: 'kinora.io/v1alpha1',
    kind: 'TranscodeJob',
    metadata: { name: 'v1', namespace: 'ns', uid: 'u1', generation: 1 },
    spec: { videoId: 'vid', source: { key: 'uploads/vid' }, outputPrefix: 'media/vid/', maxAttempts: 2, backoffSeconds: 10, ttlSecondsAfterFinished: 60, stepTimeoutSeconds: 600, chunking: { chunkSeconds: 10, maxParallel: 2 }, ...spec },
    ...(status ? { status } : {}),
  };
}
const ok = (step: 'plan' | 'chunk' | 'audio' | 'join', message?: string, chunk?: number, attempt = 1): ObservedStep => ({ ref: { step, attempt, ...(chunk !== undefined ? { chunk } : {}) }, state: 'succeeded', message });

describe('TranscodeJob state machine', () => {
  it('starts attempt 1 with the plan Job', () => {
    const d = decide(tj(), [], now);
    expect(d.status).toMatchObject({ phase: 'Planning', attempts: 1, progress: 0, observedGeneration: 1 });
    expect(d.create).toEqual([{ step: 'plan', attempt: 1 }]);
  });

  it('runs the chunks the plan reported (at most maxParallel at once) and the audio, then joins', () => {
    let d = decide(tj({ phase: 'Planning', attempts: 1 }), [ok('plan', '{"chunks":3,"durationSec":25}')], now);
    expect(d.status).toMatchObject({ phase: 'Encoding', chunks: { total: 3, succeeded: 0 }, durationSec: 25, audioDone: false });
    expect(d.create).toEqual([{ step: 'audio', attempt: 1 }, { step: 'chunk', attempt: 1, chunk: 0, chunks: 3 }, { step: 'chunk', attempt: 1, chunk: 1, chunks: 3 }]);
    const audioRunning: ObservedStep = { ref: { step: 'audio', attempt: 1 }, state: 'running' };
    d = decide(tj(d.status), [ok('plan', '{"chunks":3}'), audioRunning, ok('chunk', undefined, 0), { ref: { step: 'chunk', attempt: 1, chunk: 1 }, state: 'running' }], now);
    expect(d.create).toEqual([{ step: 'chunk', attempt: 1, chunk: 2, chunks: 3 }]);
    expect(d.status.chunks).toEqual({ total: 3, succeeded: 1, done: [0] });
    expect(d.status.progress).toBe(5 + Math.floor(85 / 4));
    // Chunk Jobs removed by their TTL stay done: progress is in status. The audio is still running: no join yet.
    d = decide(tj(d.status), [audioRunning, ok('chunk', undefined, 1), ok('chunk', undefined, 2)], now);
    expect(d.status.phase).toBe('Encoding');
    expect(d.create).toEqual([]);
    d = decide(tj(d.status), [ok('audio', '{"audio":true}')], now);
    expect(d.status.phase).toBe('Joining');
    expect(d.create).toEqual([{ step: 'join', attempt: 1, chunks: 3 }]);
    d = decide(tj(d.status), [ok('join', 'log line\n{"hlsKey":"media/vid/master.m3u8"}')], now);
    expect(d.status).toMatchObject({ phase: 'Succeeded', progress: 100, result: { hlsKey: 'media/vid/master.m3u8' } });
    expect(d.publish).toEqual({ kind: 'succeeded', result: { hlsKey: 'media/vid/master.m3u8' } });
  });

  it('retries a failed attempt after its backoff, then fails after maxAttempts and publishes the failure', () => {
    let d = decide(tj({ phase: 'Encoding', attempts: 1, chunks: { total: 2, succeeded: 0 } }), [{ ref: { step: 'chunk', attempt: 1, chunk: 0 }, state: 'failed', message: 'ffmpeg exited 1', exitCode: 1 }], now);
    expect(d.status.phase).toBe('Retrying');
    expect(d.status.lastFailure).toMatch(/chunk 0 of attempt 1 failed \(exit 1\): ffmpeg exited 1/);
    expect(d.requeueAfterMs).toBe(10_000);
    // Not due yet: waits.
    const early = decide(tj(d.status), [], new Date(now.getTime() + 5000));
    expect(early.create).toEqual([]);
    expect(early.requeueAfterMs).toBe(5000);
    d = decide(tj(d.status), [], new Date(now.getTime() + 10_000));
    expect(d.status).toMatchObject({ phase: 'Planning', attempts: 2 });
    expect(d.status.chunks).toBeUndefined();
    expect(d.create).toEqual([{ step: 'plan', attempt: 2 }]);
    d = decide(tj(d.status), [{ ref: { step: 'plan', attempt: 2 }, state: 'failed', message: 'no such key' }], now);
    expect(d.status.phase).toBe('Failed');
    expect(d.publish).toEqual({ kind: 'failed', reason: expect.stringMatching(/plan step of attempt 2 failed: no such key/), attempts: 2 });
  });

  it('fails at once on a permanent exit code, with attempts left', () => {
    const failed: ObservedStep = { ref: { step: 'plan', attempt: 1 }, state: 'failed', message: 'not a video', exitCode: 3 };
    const d = decide(tj({ phase: 'Planning', attempts: 1 }, { maxAttempts: 5 }), [failed], now);
    expect(d.status.phase).toBe('Failed');
    expect(d.publish).toEqual({ kind: 'failed', reason: 'plan step of attempt 1 failed (exit 3, not retried): not a video', attempts: 1 });
    // Which codes are permanent is configurable.
    expect(decide(tj({ phase: 'Planning', attempts: 1 }, { maxAttempts: 5 }), [failed], now, { permanentExitCodes: [] }).status.phase).toBe('Retrying');
  });

  it('ignores Jobs of earlier attempts', () => {
    const d = decide(tj({ phase: 'Planning', attempts: 2 }), [{ ref: { step: 'plan', attempt: 1 }, state: 'failed', message: 'old' }], now);
    expect(d.status.phase).toBe('Planning');
    expect(d.create).toEqual([{ step: 'plan', attempt: 2 }]);
  });

  it('fails the attempt when the plan reports no chunk count', () => {
    const d = decide(tj({ phase: 'Planning', attempts: 1 }), [ok('plan', 'done')], now);
    expect(d.status.phase).toBe('Retrying');
    expect(d.status.lastFailure).toMatch(/no chunk count/);
  });

  it('publishes a finished outcome that was not published yet, and nothing once it was', () => {
    expect(decide(tj({ phase: 'Failed', attempts: 2, lastFailure: 'x' }), [], now).publish).toEqual({ kind: 'failed', reason: 'x', attempts: 2 });
    expect(decide(tj({ phase: 'Succeeded', eventPublished: true }), [], now).publish).toBeUndefined();
  });

  it('parses plans strictly', () => {
    expect(parsePlan('{"chunks":0}')).toBeUndefined();
    expect(parsePlan('{"chunks":2.5}')).toBeUndefined();
    expect(parsePlan('x\n{"chunks":4}')).toEqual({ chunks: 4 });
    expect(retryDelayMs(10, 3)).toBe(40_000);
  });
});

describe('Jobs of a TranscodeJob', () => {
  it('names stay within 63 characters and stay unique per step', () => {
    const long = 'x'.repeat(80);
    const a = jobName(long, { step: 'chunk', attempt: 1, chunk: 12 });
    const b = jobName(long, { step: 'chunk', attempt: 1, chunk: 13 });
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
    expect(jobName('v1', { step: 'plan', attempt: 2 })).toBe('v1-a2-plan');
  });

  it('passes each step only the options the transcoder entry takes for it', () => {
    const common = ['--video', 'vid', '--source', 'uploads/vid', '--work', 'work/vid/u1/a1/'];
    expect(stepArgs(tj(), { step: 'plan', attempt: 1 })).toEqual(['plan', ...common, '--chunk-sec', '10']);
    expect(stepArgs(tj(), { step: 'chunk', attempt: 1, chunk: 2, chunks: 5 })).toEqual(['chunk', ...common, '--index', '2']);
    expect(stepArgs(tj(), { step: 'audio', attempt: 1 })).toEqual(['audio', ...common]);
    expect(stepArgs(tj(), { step: 'join', attempt: 1, chunks: 5 })).toEqual(['join', ...common, '--output', 'media/vid/']);
  });

  it('sizes encoding from the source and keeps plan and join light', () => {
    const spec = tj().spec;
    expect(stepResources({ ...spec, source: { key: 'k', height: 2160 } }, 'chunk').requests).toEqual({ cpu: '4', memory: '4Gi' });
    expect(stepResources({ ...spec, source: { key: 'k', height: 480 } }, 'chunk').requests).toEqual({ cpu: '500m', memory: '512Mi' });
    expect(stepResources({ ...spec, source: { key: 'k', sizeBytes: 3 * 1024 ** 3 } }, 'chunk').requests.cpu).toBe('4');
    expect(stepResources({ ...spec, source: { key: 'k', height: 720 }, resources: { cpu: '3' } }, 'chunk').requests).toEqual({ cpu: '3', memory: '1Gi' });
    expect(stepResources(spec, 'plan').requests.cpu).toBe('250m');
  });
});
