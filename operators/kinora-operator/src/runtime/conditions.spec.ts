import { describe, expect, it } from '@jest/globals';
import { setCondition, setStandardConditions } from './conditions.js';

const t1 = new Date('2026-12-06T10:00:00Z');
const t2 = new Date('2026-12-06T11:00:00Z');

describe('conditions', () => {
  it('keeps lastTransitionTime while the status stays, moves it when the status flips', () => {
    let c = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Starting' }, 1, t1);
    expect(c).toEqual([{ type: 'Ready', status: 'False', reason: 'Starting', message: '', lastTransitionTime: '2026-12-06T10:00:00Z', observedGeneration: 1 }]);
    c = setCondition(c, { type: 'Ready', status: 'False', reason: 'StillStarting', message: 'm' }, 2, t2);
    expect(c[0]).toMatchObject({ reason: 'StillStarting', message: 'm', lastTransitionTime: '2026-12-06T10:00:00Z', observedGeneration: 2 });
    c = setCondition(c, { type: 'Ready', status: 'True', reason: 'Up' }, 2, t2);
    expect(c[0]).toMatchObject({ status: 'True', lastTransitionTime: '2026-12-06T11:00:00Z' });
  });

  it('sets Ready, Progressing and Degraded in order and keeps other conditions', () => {
    const other = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'x' }, 1, t1).map((c) => ({ ...c, type: 'Custom' }));
    const c = setStandardConditions(other, { ready: [true, 'A', ''], progressing: [false, 'B', ''], degraded: [true, 'C', 'why'] }, 3, t1);
    expect(c.map((x) => `${x.type}=${x.status}`)).toEqual(['Ready=True', 'Progressing=False', 'Degraded=True', 'Custom=True']);
  });
});
