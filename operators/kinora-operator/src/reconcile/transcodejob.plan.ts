import type { TranscodeJob, TranscodeJobStatus } from '../api/v1alpha1/transcodejob.types.js';
import type { StepRef } from './transcodejob.jobs.js';

/** What the controller sees of one step's Job: done, failed (with why), or still running. */
export interface ObservedStep {
  ref: StepRef;
  state: 'running' | 'succeeded' | 'failed';
  /** The step's termination message (its JSON result), or the failure text. */
  message?: string;
  /** Exit code of a failed step's container. */
  exitCode?: number;
}

export interface DecideOptions {
  /**
   * Exit codes that no retry can fix (the transcoder's entry: 2 bad command line, 3 not a usable video): the
   * TranscodeJob fails at once instead of using its remaining attempts.
   */
  permanentExitCodes?: readonly number[];
}

export type Outcome = { kind: 'succeeded'; result: Record<string, unknown> } | { kind: 'failed'; reason: string; attempts: number };

export interface Decision {
  status: TranscodeJobStatus;
  /** Jobs to create (server-side apply is idempotent, so re-creating an existing one is harmless). */
  create: StepRef[];
  /** Publish this outcome as a video.transcoded event, then record `eventPublished`. */
  publish?: Outcome;
  requeueAfterMs?: number;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The plan step's result: `{"chunks": N}` (and `durationSec` when it tells). */
export function parsePlan(message: string | undefined): { chunks: number; durationSec?: number } | undefined {
  if (!message) return undefined;
  try {
    const v = JSON.parse(lastJsonLine(message)) as { chunks?: unknown; durationSec?: unknown };
    if (typeof v.chunks !== 'number' || !Number.isInteger(v.chunks) || v.chunks < 1 || v.chunks > 10_000) return undefined;
    return { chunks: v.chunks, ...(typeof v.durationSec === 'number' ? { durationSec: v.durationSec } : {}) };
  } catch {
    return undefined;
  }
}

/** The join step's result: the TranscodeSucceeded.v1 payload (renditions, keys), as an object. */
export function parseJoin(message: string | undefined): Record<string, unknown> | undefined {
  if (!message) return undefined;
  try {
    const v = JSON.parse(lastJsonLine(message)) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A step may log before its result; the result is the last line that parses as JSON. */
function lastJsonLine(text: string): string {
  const lines = text.trim().split('\n').reverse();
  for (const l of lines) if (l.trim().startsWith('{')) return l.trim();
  return text.trim();
}

export function retryDelayMs(backoffSeconds: number, attempt: number): number {
  return Math.min(backoffSeconds * 1000 * 2 ** Math.max(0, attempt - 1), 3_600_000);
}

/**
 * One step of the TranscodeJob state machine, as a pure function of the resource and the Jobs of its current
 * attempt: Planning (one plan Job, whose result is the chunk count) → Encoding (a Job per chunk, at most
 * `maxParallel` at once, and one audio Job) → Joining (one join Job, whose result is the outcome) → Succeeded. A failed Job fails
 * the attempt: Retrying with exponential backoff, or Failed after `maxAttempts` (at once when the failure is
 * permanent, see DecideOptions). Progress is what is recorded in
 * status, so Jobs that their TTL removed are never run again.
 */
export function decide(tj: TranscodeJob, observed: ObservedStep[], now: Date, opts: DecideOptions = {}): Decision {
  const spec = tj.spec;
  const maxAttempts = spec.maxAttempts ?? 3;
  const st: TranscodeJobStatus = structuredClone(tj.status ?? {});
  const create: StepRef[] = [];
  st.observedGeneration = tj.metadata.generation;

  if (st.phase === 'Succeeded' || st.phase === 'Failed') {
    if (st.eventPublished) return { status: st, create };
    const publish: Outcome =
      st.phase === 'Succeeded'
        ? { kind: 'succeeded', result: st.result ?? {} }
        : { kind: 'failed', reason: st.lastFailure ?? 'transcode failed', attempts: st.attempts ?? maxAttempts };
    return { status: st, create, publish };
  }

  if (!st.attempts || st.attempts < 1 || !st.phase || st.phase === 'Pending') {
    st.attempts = 1;
    st.phase = 'Planning';
    st.progress = 0;
    st.startTime ??= iso(now);
  }
  if (st.phase === 'Retrying') {
    const due = st.nextAttemptTime ? Date.parse(st.nextAttemptTime) : 0;
    if (due > now.getTime()) return { status: st, create, requeueAfterMs: due - now.getTime() };
    st.attempts = (st.attempts ?? 1) + 1;
    st.phase = 'Planning';
    st.progress = 0;
    delete st.chunks;
    delete st.audioDone;
    delete st.nextAttemptTime;
    delete st.durationSec;
  }
  const attempt = st.attempts!;
  const mine = observed.filter((o) => o.ref.attempt === attempt);
  const failedStep = mine.find((o) => o.state === 'failed');
  if (failedStep) {
    const permanent = failedStep.exitCode !== undefined && (opts.permanentExitCodes ?? [2, 3]).includes(failedStep.exitCode);
    const reason = `${describe(failedStep)} failed${failedStep.exitCode !== undefined ? ` (exit ${failedStep.exitCode}${permanent ? ', not retried' : ''})` : ''}: ${(failedStep.message ?? 'no message').trim().slice(-2000)}`;
    return failAttempt(tj, st, reason, now, permanent);
  }

  if (st.phase === 'Planning') {
    const plan = mine.find((o) => o.ref.step === 'plan');
    if (!plan) return { status: st, create: [{ step: 'plan', attempt }] };
    if (plan.state === 'running') return { status: st, create };
    const parsed = parsePlan(plan.message);
    if (!parsed) return failAttempt(tj, st, `plan step reported no chunk count (termination message ${JSON.stringify((plan.message ?? '').slice(0, 200))})`, now);
    st.chunks = { total: parsed.chunks, succeeded: 0, done: [] };
    st.audioDone = false;
    if (parsed.durationSec !== undefined) st.durationSec = parsed.durationSec;
    st.phase = 'Encoding';
    st.progress = 5;
  }

  if (st.phase === 'Encoding') {
    const total = st.chunks?.total ?? 1;
    const done = new Set(st.chunks?.done ?? []);
    for (const o of mine) if (o.ref.step === 'chunk' && o.state === 'succeeded' && o.ref.chunk !== undefined) done.add(o.ref.chunk);
    st.chunks = { total, succeeded: done.size, done: [...done].sort((a, b) => a - b) };
    // The audio track is encoded once for the whole source, beside the video chunks.
    const audio = mine.find((o) => o.ref.step === 'audio');
    if (audio?.state === 'succeeded') st.audioDone = true;
    st.progress = 5 + Math.floor((85 * (done.size + (st.audioDone ? 1 : 0))) / (total + 1));
    if (done.size < total || !st.audioDone) {
      if (!st.audioDone && !audio) create.push({ step: 'audio', attempt });
      const running = new Set(mine.filter((o) => o.ref.step === 'chunk' && o.state === 'running').map((o) => o.ref.chunk));
      let slots = (spec.chunking?.maxParallel ?? 4) - running.size;
      for (let i = 0; i < total && slots > 0; i++) {
        if (done.has(i) || running.has(i)) continue;
        create.push({ step: 'chunk', attempt, chunk: i, chunks: total });
        slots--;
      }
      return { status: st, create };
    }
    st.phase = 'Joining';
    st.progress = 90;
  }

  if (st.phase === 'Joining') {
    const join = mine.find((o) => o.ref.step === 'join');
    const chunks = st.chunks?.total ?? 1;
    if (!join) return { status: st, create: [{ step: 'join', attempt, chunks }] };
    if (join.state === 'running') return { status: st, create };
    const result = parseJoin(join.message);
    if (!result) return failAttempt(tj, st, `join step reported no result (termination message ${JSON.stringify((join.message ?? '').slice(0, 200))})`, now);
    st.result = result;
    st.phase = 'Succeeded';
    st.progress = 100;
    st.completionTime = iso(now);
    return { status: st, create, publish: { kind: 'succeeded', result } };
  }
  return { status: st, create };
}

function describe(o: ObservedStep): string {
  return o.ref.step === 'chunk' ? `chunk ${o.ref.chunk} of attempt ${o.ref.attempt}` : `${o.ref.step} step of attempt ${o.ref.attempt}`;
}

function failAttempt(tj: TranscodeJob, st: TranscodeJobStatus, reason: string, now: Date, permanent = false): Decision {
  const attempt = st.attempts ?? 1;
  st.lastFailure = reason;
  if (permanent || attempt >= (tj.spec.maxAttempts ?? 3)) {
    st.phase = 'Failed';
    st.completionTime = iso(now);
    return { status: st, create: [], publish: { kind: 'failed', reason, attempts: attempt } };
  }
  const delay = retryDelayMs(tj.spec.backoffSeconds ?? 10, attempt);
  st.phase = 'Retrying';
  st.nextAttemptTime = new Date(now.getTime() + delay).toISOString();
  return { status: st, create: [], requeueAfterMs: delay };
}
