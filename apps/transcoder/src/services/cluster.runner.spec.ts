import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { TranscodeJobSpecSchema } from '@kinora/contracts';
import { TranscodeJobRepository } from '../repositories/transcode-job.repository.js';
import { transcodeJobSpec } from './cluster.runner.js';

const upload = { videoId: '0b9d8c1e-6d1f-4c1a-9f0e-2f3c4d5e6f70', sourceKey: 'uploads/0b9d/source', sizeBytes: 1234, outputPrefix: 'media/0b9d/' };
const config = { transcodeChunkSec: 30, transcodeMaxAttempts: 3, transcodeMaxParallel: 6, transcodeImage: undefined };

describe('transcodeJobSpec', () => {
  it('maps an upload and the configuration to a spec the CRD schema accepts (after its defaults)', () => {
    const spec = transcodeJobSpec(upload, config);
    expect(spec).toEqual({
      videoId: upload.videoId,
      source: { key: upload.sourceKey, sizeBytes: 1234 },
      outputPrefix: upload.outputPrefix,
      chunking: { chunkSeconds: 30, maxParallel: 6 },
      maxAttempts: 3,
    });
    // What the API server stores: the CRD's defaults applied, then the structural schema checks it.
    const stored = Value.Default(TranscodeJobSpecSchema, structuredClone(spec));
    expect(Value.Check(TranscodeJobSpecSchema, stored)).toBe(true);
    expect(transcodeJobSpec(upload, { ...config, transcodeImage: 'r/kinora-transcoder:1' }).image).toBe('r/kinora-transcoder:1');
  });

  it('never asks for more attempts than a TranscodeJob allows', () => {
    expect(transcodeJobSpec(upload, { ...config, transcodeMaxAttempts: 50 }).maxAttempts).toBe(20);
  });
});

describe('TranscodeJobRepository', () => {
  it('names a TranscodeJob after its video: the id when it is a DNS label, else a stable hash', () => {
    expect(TranscodeJobRepository.nameOf(upload.videoId)).toBe(`tj-${upload.videoId}`);
    expect(TranscodeJobRepository.nameOf(upload.videoId.toUpperCase())).toBe(`tj-${upload.videoId}`);
    const odd = TranscodeJobRepository.nameOf('Video_42/x');
    expect(odd).toMatch(/^tj-[0-9a-f]{40}$/);
    expect(TranscodeJobRepository.nameOf('Video_42/x')).toBe(odd);
    expect(TranscodeJobRepository.nameOf('x'.repeat(60))).toMatch(/^tj-[0-9a-f]{40}$/);
  });

  it('refuses to start without an API server or a namespace, saying what to set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kinora-kubeconfig-'));
    const file = join(dir, 'config');
    writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
    expect(TranscodeJobRepository.load({ kubeconfig: file, namespace: 'media' }).namespace).toBe('media');
    // No namespace and no service-account volume (this is no Pod).
    expect(() => TranscodeJobRepository.load({ kubeconfig: file })).toThrow(/TRANSCODE_NAMESPACE is unset/);
  });
});
