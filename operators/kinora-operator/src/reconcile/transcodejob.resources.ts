import type { TranscodeJobSpec } from '../api/v1alpha1/transcodejob.types.js';

export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { memory: string };
}

export type Step = 'plan' | 'chunk' | 'audio' | 'join';

const TIERS: { maxHeight: number; cpu: string; memory: string; limit: string }[] = [
  { maxHeight: 480, cpu: '500m', memory: '512Mi', limit: '1Gi' },
  { maxHeight: 720, cpu: '1', memory: '1Gi', limit: '2Gi' },
  { maxHeight: 1080, cpu: '2', memory: '2Gi', limit: '4Gi' },
  { maxHeight: Infinity, cpu: '4', memory: '4Gi', limit: '8Gi' },
];

/**
 * Requests of a step's Pod, sized from the source: encoding scales with the pixels of the top rung (the source
 * height; from the file size when the height is not known yet), planning (ffprobe + keyframe scan) and joining
 * (concatenation, no re-encode) and the audio track (encoded once for the whole source) are light. `spec.resources` overrides the encoding requests.
 */
export function stepResources(spec: TranscodeJobSpec, step: Step): Resources {
  if (step === 'plan') return { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } };
  if (step === 'join' || step === 'audio') return { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } };
  const height = spec.source.height ?? ((spec.source.sizeBytes ?? 0) > 2 * 1024 ** 3 ? 2160 : (spec.source.sizeBytes ?? 0) > 256 * 1024 ** 2 ? 1080 : 720);
  const tier = TIERS.find((t) => height <= t.maxHeight)!;
  const cpu = spec.resources?.cpu ?? tier.cpu;
  const memory = spec.resources?.memory ?? tier.memory;
  return { requests: { cpu, memory }, limits: { memory: spec.resources?.memory ? memory : tier.limit } };
}
