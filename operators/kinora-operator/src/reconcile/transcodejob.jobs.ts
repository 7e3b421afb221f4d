import { createHash } from 'node:crypto';
import type { TranscodeJob } from '../api/v1alpha1/transcodejob.types.js';
import { CONTAINER_SECURITY, POD_SECURITY, ownerRef } from './owner.js';
import { stepResources, type Step } from './transcodejob.resources.js';

export const LABEL_OWNER_UID = 'kinora.io/transcodejob-uid';
export const LABEL_ATTEMPT = 'kinora.io/attempt';
export const LABEL_STEP = 'kinora.io/step';
export const LABEL_CHUNK = 'kinora.io/chunk';
/** On Pod templates: `namespace/name` of the TranscodeJob, so a Pod's change enqueues it. */
export const ANNOTATION_OWNER_KEY = 'kinora.io/transcodejob';
/** Where a step writes its result (JSON) for the operator: the container's terminationMessagePath. */
export const TERMINATION_MESSAGE_PATH = '/dev/termination-log';

/**
 * `transcode-job.js` prints its result as one JSON line on stdout and logs on stderr; the kubelet copies the file at
 * terminationMessagePath (not stdout) into the Pod's status, where the operator reads it. The entry writes its
 * result line to `$TERMINATION_MESSAGE_PATH` itself (the images have no shell to redirect with); on a failure the
 * file stays empty and `FallbackToLogsOnError` puts the log tail (the entry's one-line reason on stderr) in its place.
 */
export const DEFAULT_TRANSCODE_COMMAND = ['node', 'apps/transcoder/dist/transcode-job.js'];

export interface JobTemplate {
  /** Default transcoder image (a TranscodeJob's spec.image wins). */
  image: string;
  /**
   * The program of every step; the step and its options follow as further arguments. The default runs the
   * transcoder's entry, which writes its result line to the termination message file (see DEFAULT_TRANSCODE_COMMAND).
   */
  command: string[];
  /** Environment every step gets (storage location and the like). */
  env: { name: string; value: string }[];
  /** A Secret whose keys become environment of every step (credentials). */
  envFromSecret?: string;
  serviceAccountName?: string;
}

export interface StepRef {
  step: Step;
  attempt: number;
  chunk?: number;
  chunks?: number;
}

/** `<tj>-a<attempt>-<step>[-<i>]`, kept within the 63 characters a Job name may have (its Pods carry it as a label). */
export function jobName(tjName: string, ref: StepRef): string {
  const suffix = `-a${ref.attempt}-${ref.step}${ref.chunk !== undefined ? `-${ref.chunk}` : ''}`;
  if (tjName.length + suffix.length <= 63) return tjName + suffix;
  const hash = createHash('sha256').update(tjName).digest('hex').slice(0, 6);
  return `${tjName.slice(0, 63 - suffix.length - 7).replace(/-+$/, '')}-${hash}${suffix}`;
}

export const workPrefix = (tj: TranscodeJob, attempt: number): string => `work/${tj.spec.videoId}/${tj.metadata.uid ?? tj.metadata.name}/a${attempt}/`;

/**
 * The arguments of a step, as the transcoder's Job entry (`transcode-job.js`) takes them:
 * `<plan|chunk|audio|join> --video <id> --source <key> --work <prefix>`, plus `--chunk-sec <s>` for plan,
 * `--index <i>` for chunk and `--output <prefix>` for join (the entry refuses options a step does not take).
 */
export function stepArgs(tj: TranscodeJob, ref: StepRef): string[] {
  const args = [ref.step, '--video', tj.spec.videoId, '--source', tj.spec.source.key, '--work', workPrefix(tj, ref.attempt)];
  if (ref.step === 'plan') args.push('--chunk-sec', String(tj.spec.chunking?.chunkSeconds ?? 60));
  if (ref.step === 'chunk') args.push('--index', String(ref.chunk ?? 0));
  if (ref.step === 'join') args.push('--output', tj.spec.outputPrefix);
  return args;
}

export function stepJob(tj: TranscodeJob, ref: StepRef, tpl: JobTemplate): Record<string, unknown> {
  const labels: Record<string, string> = {
    'app.kubernetes.io/name': 'kinora-transcode',
    'app.kubernetes.io/managed-by': 'kinora-operator',
    'app.kubernetes.io/part-of': 'kinora',
    [LABEL_OWNER_UID]: tj.metadata.uid!,
    [LABEL_ATTEMPT]: String(ref.attempt),
    [LABEL_STEP]: ref.step,
    ...(ref.chunk !== undefined ? { [LABEL_CHUNK]: String(ref.chunk) } : {}),
  };
  const env = [
    { name: 'TRANSCODE_STEP', value: ref.step },
    { name: 'VIDEO_ID', value: tj.spec.videoId },
    { name: 'SOURCE_KEY', value: tj.spec.source.key },
    { name: 'OUTPUT_PREFIX', value: tj.spec.outputPrefix },
    { name: 'WORK_PREFIX', value: workPrefix(tj, ref.attempt) },
    { name: 'ATTEMPT', value: String(ref.attempt) },
    { name: 'CHUNK_SECONDS', value: String(tj.spec.chunking?.chunkSeconds ?? 60) },
    ...(ref.chunk !== undefined ? [{ name: 'CHUNK_INDEX', value: String(ref.chunk) }] : []),
    ...(ref.chunks !== undefined ? [{ name: 'CHUNK_COUNT', value: String(ref.chunks) }] : []),
    { name: 'TERMINATION_MESSAGE_PATH', value: TERMINATION_MESSAGE_PATH },
    ...tpl.env,
  ];
  const [program, ...programArgs] = tpl.command;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName(tj.metadata.name, ref), namespace: tj.metadata.namespace, labels, ownerReferences: [ownerRef(tj)] },
    spec: {
      // Retries are the operator's (a whole attempt, with its own backoff), not the Job controller's.
      backoffLimit: 0,
      ttlSecondsAfterFinished: tj.spec.ttlSecondsAfterFinished ?? 600,
      // A hung step (a stuck read from storage, a wedged encoder) fails instead of holding the attempt forever.
      activeDeadlineSeconds: tj.spec.stepTimeoutSeconds ?? 7200,
      template: {
        metadata: { labels, annotations: { [ANNOTATION_OWNER_KEY]: `${tj.metadata.namespace}/${tj.metadata.name}` } },
        spec: {
          restartPolicy: 'Never',
          enableServiceLinks: false,
          automountServiceAccountToken: false,
          ...(tpl.serviceAccountName ? { serviceAccountName: tpl.serviceAccountName } : {}),
          securityContext: POD_SECURITY,
          containers: [
            {
              name: 'transcode',
              image: tj.spec.image ?? tpl.image,
              command: [program],
              args: [...programArgs, ...stepArgs(tj, ref)],
              env,
              ...(tpl.envFromSecret ? { envFrom: [{ secretRef: { name: tpl.envFromSecret } }] } : {}),
              resources: stepResources(tj.spec, ref.step),
              terminationMessagePath: TERMINATION_MESSAGE_PATH,
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: CONTAINER_SECURITY,
              volumeMounts: [
                { name: 'work', mountPath: '/work/transcode' },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'work', emptyDir: {} },
            { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
          ],
        },
      },
    },
  };
}
