import type { Condition, ConditionType } from '../api/v1alpha1/common.types.js';

export interface ConditionInput {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
}

/**
 * The conditions with `input` set: lastTransitionTime changes only when the status flips (so a status patch of
 * an unchanged state is a no-op), reason/message/observedGeneration follow the latest pass.
 */
export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, generation: number | undefined, now: Date): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === input.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message ?? '',
    lastTransitionTime: prev && prev.status === input.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/** The three standard conditions at once: Ready, Progressing, Degraded (in that order). */
export function setStandardConditions(
  conditions: readonly Condition[] | undefined,
  state: { ready: [boolean, string, string]; progressing: [boolean, string, string]; degraded: [boolean, string, string] },
  generation: number | undefined,
  now: Date,
): Condition[] {
  let list = [...(conditions ?? [])];
  const pairs: [ConditionType, [boolean, string, string]][] = [
    ['Ready', state.ready],
    ['Progressing', state.progressing],
    ['Degraded', state.degraded],
  ];
  for (const [type, [ok, reason, message]] of pairs) list = setCondition(list, { type, status: ok ? 'True' : 'False', reason, message }, generation, now);
  const order = (t: string) => ['Ready', 'Progressing', 'Degraded'].indexOf(t);
  return list.sort((a, b) => (order(a.type) === -1 ? 99 : order(a.type)) - (order(b.type) === -1 ? 99 : order(b.type)));
}

export function conditionOf(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
