import { EVENT_TYPES, TOPICS } from '@kinora/contracts';
import { createEvent, toEventMessage, type EventBus } from '@kinora/events';
import { API_VERSION } from '../api/v1alpha1/common.types.js';
import type { TranscodeJob, TranscodeJobStatus } from '../api/v1alpha1/transcodejob.types.js';
import {
  ANNOTATION_OWNER_KEY,
  LABEL_ATTEMPT,
  LABEL_CHUNK,
  LABEL_OWNER_UID,
  LABEL_STEP,
  jobName,
  stepJob,
  type JobTemplate,
  type StepRef,
} from '../reconcile/transcodejob.jobs.js';
import { decide, type ObservedStep, type Outcome } from '../reconcile/transcodejob.plan.js';
import type { Step } from '../reconcile/transcodejob.resources.js';
import { setStandardConditions } from '../runtime/conditions.js';
import { EventRecorder } from '../runtime/events.js';
import { Controller, splitKey, type ReconcileResult, type Reconciler } from '../runtime/controller.js';
import { Informer } from '../runtime/informer.js';
import type { KubeClient, KubeObject } from '../runtime/kube-client.js';
import type { Logger } from '../runtime/logger.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import { patchStatus } from '../runtime/status.js';

export const OPERATOR_ACTOR = { type: 'service', id: 'kinora-operator' } as const;

export interface TranscodeJobOptions {
  client: KubeClient;
  namespace?: string;
  fieldManager: string;
  metrics: OperatorMetrics;
  logger: Logger;
  /** Where `video.transcoded` outcomes go. */
  bus: EventBus;
  jobTemplate: JobTemplate;
  /** Exit codes that fail a TranscodeJob without retrying (default 2, 3: the transcoder entry's usage and invalid media). */
  permanentExitCodes?: readonly number[];
  workers?: number;
}

const PLURAL = 'transcodejobs';

interface JobObject extends KubeObject {
  metadata: KubeObject['metadata'] & { labels?: Record<string, string> };
  status?: { conditions?: { type: string; status: string; message?: string; reason?: string }[]; succeeded?: number; failed?: number };
}

interface PodObject extends KubeObject {
  metadata: KubeObject['metadata'] & { labels?: Record<string, string>; annotations?: Record<string, string> };
  status?: { phase?: string; containerStatuses?: { state?: { terminated?: { exitCode?: number; message?: string; reason?: string } } }[] };
}

/** How a Job's Pod ended: its termination message (the step's result, or its log tail) and exit code. */
function termination(pods: PodObject[], job: string): { message?: string; exitCode?: number } | undefined {
  const pod = pods.filter((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === job || p.metadata.labels?.['job-name'] === job).find((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed');
  const t = pod?.status?.containerStatuses?.[0]?.state?.terminated;
  if (!t) return undefined;
  return { message: t.message ?? (t.exitCode !== undefined ? `exit code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}` : undefined), exitCode: t.exitCode };
}

/**
 * TranscodeJob → batch/v1 Jobs: plan, then the chunks and the audio in parallel, then join (see reconcile/transcodejob.plan.ts
 * for the state machine). Publishes the outcome as TranscodeSucceeded.v1 / TranscodeFailed.v1 on video.transcoded
 * and records that it did, so each outcome is published once per resource (at least once across a crash between
 * the publish and the status write).
 */
export class TranscodeJobReconciler implements Reconciler {
  private readonly events: EventRecorder;

  constructor(
    private readonly opts: TranscodeJobOptions,
    private readonly cache: { tjs: Informer; jobs: Informer; pods: Informer },
  ) {
    this.events = new EventRecorder(opts.client, opts.logger);
  }

  private observe(tj: TranscodeJob): { observed: ObservedStep[]; waitingForPod: boolean } {
    const uid = tj.metadata.uid!;
    const ns = tj.metadata.namespace;
    const jobs = (this.cache.jobs.list(ns) as JobObject[]).filter((j) => j.metadata.labels?.[LABEL_OWNER_UID] === uid);
    const pods = (this.cache.pods.list(ns) as PodObject[]).filter((p) => p.metadata.labels?.[LABEL_OWNER_UID] === uid);
    let waitingForPod = false;
    const observed: ObservedStep[] = [];
    for (const j of jobs) {
      const labels = j.metadata.labels ?? {};
      const ref: StepRef = {
        step: labels[LABEL_STEP] as Step,
        attempt: Number(labels[LABEL_ATTEMPT]),
        ...(labels[LABEL_CHUNK] !== undefined ? { chunk: Number(labels[LABEL_CHUNK]) } : {}),
      };
      const cond = (t: string) => j.status?.conditions?.find((c) => c.type === t && c.status === 'True');
      const complete = cond('Complete');
      // FailureTarget is the Job controller's decision (deadline, backoff limit), set before its Pods are gone.
      const failed = cond('Failed') ?? cond('FailureTarget');
      if (!complete && !failed) {
        observed.push({ ref, state: 'running' });
        continue;
      }
      const ended = termination(pods, j.metadata.name);
      if (complete) {
        // The result is in the Pod's status; the Pod informer may be a moment behind the Job's.
        if (ended?.message === undefined && (ref.step === 'plan' || ref.step === 'join')) {
          waitingForPod = true;
          observed.push({ ref, state: 'running' });
        } else observed.push({ ref, state: 'succeeded', message: ended?.message });
      } else {
        observed.push({
          ref,
          state: 'failed',
          // The step's own words first; the Job controller's reason when it ended the step (DeadlineExceeded, …).
          message: [ended?.message?.trim(), failed!.reason && failed!.reason !== 'BackoffLimitExceeded' ? `${failed!.reason}: ${failed!.message ?? ''}` : undefined]
            .filter((m): m is string => !!m)
            .join('\n') || `${failed!.reason ?? 'Failed'}: ${failed!.message ?? ''}`,
          ...(ended?.exitCode !== undefined ? { exitCode: ended.exitCode } : {}),
        });
      }
    }
    return { observed, waitingForPod };
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const tj = this.cache.tjs.get(namespace, name) as unknown as TranscodeJob | undefined;
    if (!tj || tj.metadata.deletionTimestamp) return;
    const { client, fieldManager } = this.opts;
    const { observed, waitingForPod } = this.observe(tj);
    const now = new Date();
    const d = decide(tj, observed, now, { permanentExitCodes: this.opts.permanentExitCodes });
    for (const ref of d.create) {
      // A Job the cache already holds is not applied again (its spec never changes); a missing one is created.
      if (this.cache.jobs.get(namespace, jobName(name, ref))) continue;
      const job = stepJob(tj, ref, this.opts.jobTemplate);
      await client.apply({ apiVersion: 'batch/v1', plural: 'jobs', namespace, name: jobName(name, ref) }, job, fieldManager);
    }
    const status: TranscodeJobStatus = d.status;
    if (d.publish) {
      await this.publish(tj, d.publish);
      status.eventPublished = true;
    }
    const phase = status.phase ?? 'Pending';
    const finished = phase === 'Succeeded' || phase === 'Failed';
    status.conditions = setStandardConditions(
      tj.status?.conditions,
      {
        ready: phase === 'Succeeded' ? [true, 'Transcoded', 'the ladder is written'] : [false, phase, finished ? (status.lastFailure ?? '') : `${phase.toLowerCase()}, ${status.progress ?? 0}% done`],
        progressing: !finished ? [true, phase, `attempt ${status.attempts ?? 1} of ${tj.spec.maxAttempts ?? 3}`] : [false, phase, ''],
        degraded: phase === 'Failed' ? [true, 'AttemptsExhausted', status.lastFailure ?? ''] : phase === 'Retrying' ? [true, 'AttemptFailed', status.lastFailure ?? ''] : [false, 'AsExpected', ''],
      },
      tj.metadata.generation,
      now,
    );
    const written = await patchStatus(client, { apiVersion: API_VERSION, plural: PLURAL, namespace, name }, tj.status as Record<string, unknown> | undefined, status as Record<string, unknown>, fieldManager);
    if (written && phase !== (tj.status?.phase ?? 'Pending')) await this.recordTransition(tj, status);
    if (waitingForPod) return { requeueAfterMs: 500 };
    if (d.requeueAfterMs !== undefined) return { requeueAfterMs: d.requeueAfterMs };
  }

  /** One Kubernetes Event per phase change (after the status that says so is written). */
  private recordTransition(tj: TranscodeJob, status: TranscodeJobStatus): Promise<void> {
    const target = { apiVersion: API_VERSION, kind: 'TranscodeJob', metadata: tj.metadata };
    switch (status.phase) {
      case 'Planning':
        return this.events.record(target, 'Normal', 'AttemptStarted', `attempt ${status.attempts} of ${tj.spec.maxAttempts ?? 3}: planning`);
      case 'Encoding':
        return this.events.record(target, 'Normal', 'Planned', `${status.chunks?.total ?? '?'} chunks`);
      case 'Joining':
        return this.events.record(target, 'Normal', 'Encoded', `${status.chunks?.total ?? '?'} chunks and the audio encoded`);
      case 'Retrying':
        return this.events.record(target, 'Warning', 'AttemptFailed', `${status.lastFailure ?? ''} (next attempt at ${status.nextAttemptTime})`);
      case 'Succeeded':
        return this.events.record(target, 'Normal', 'Transcoded', `ladder written after ${status.attempts} attempt(s)`);
      case 'Failed':
        return this.events.record(target, 'Warning', 'TranscodeFailed', status.lastFailure ?? 'transcode failed');
      default:
        return Promise.resolve();
    }
  }

  private async publish(tj: TranscodeJob, outcome: Outcome): Promise<void> {
    const videoId = tj.spec.videoId;
    const event =
      outcome.kind === 'succeeded'
        ? createEvent({ type: EVENT_TYPES.transcodeSucceeded, key: videoId, actor: OPERATOR_ACTOR, payload: { ...outcome.result, videoId } })
        : createEvent({ type: EVENT_TYPES.transcodeFailed, key: videoId, actor: OPERATOR_ACTOR, payload: { videoId, reason: outcome.reason, attempts: outcome.attempts } });
    await this.opts.bus.publish(TOPICS.videoTranscoded, [toEventMessage(event, { 'transcode-job': `${tj.metadata.namespace}/${tj.metadata.name}` })]);
    this.opts.metrics.transcodeEvents.inc({ outcome: outcome.kind });
  }
}

export function createTranscodeJobController(opts: TranscodeJobOptions): { controller: Controller; informers: Informer[] } {
  const log = opts.logger.child({ controller: 'TranscodeJob' });
  const tjs = new Informer(opts.client, { apiVersion: API_VERSION, plural: PLURAL, namespace: opts.namespace }, log);
  const jobs = new Informer(opts.client, { apiVersion: 'batch/v1', plural: 'jobs', namespace: opts.namespace, labelSelector: LABEL_OWNER_UID }, log);
  const pods = new Informer(opts.client, { apiVersion: 'v1', plural: 'pods', namespace: opts.namespace, labelSelector: LABEL_OWNER_UID }, log);
  const reconciler = new TranscodeJobReconciler(opts, { tjs, jobs, pods });
  const controller = new Controller({
    kind: 'TranscodeJob',
    primary: tjs,
    owned: [{ informer: jobs, ownerKind: 'TranscodeJob' }],
    watches: [{ informer: pods, keysOf: (p) => [((p.metadata as PodObject['metadata']).annotations ?? {})[ANNOTATION_OWNER_KEY]].filter((k): k is string => !!k) }],
    reconciler,
    generationChangedOnly: true,
    workers: opts.workers ?? 4,
    metrics: opts.metrics,
    logger: log,
  });
  return { controller, informers: [tjs, jobs, pods] };
}
