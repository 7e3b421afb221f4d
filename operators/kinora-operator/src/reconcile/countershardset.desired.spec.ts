import { describe, expect, it } from '@jest/globals';
import { desiredAggregators, desiredPartitions } from './countershardset.desired.js';

describe('aggregator count', () => {
  const base = { floor: 2, max: 10, partitions: 6, targetPerReplica: 1000 };
  it('is the floor without lag', () => {
    expect(desiredAggregators({ ...base, lag: undefined })).toEqual({ replicas: 2, reason: 'Floor' });
    expect(desiredAggregators({ ...base, lag: 500 })).toEqual({ replicas: 2, reason: 'Floor' });
  });
  it('grows with lag, one aggregator per target', () => {
    expect(desiredAggregators({ ...base, lag: 4500 })).toEqual({ replicas: 5, reason: 'Lag' });
  });
  it('never exceeds maxReplicas nor the partitions', () => {
    expect(desiredAggregators({ ...base, partitions: 50, lag: 1e9 })).toEqual({ replicas: 10, reason: 'MaxReplicas' });
    expect(desiredAggregators({ ...base, lag: 1e9 })).toEqual({ replicas: 6, reason: 'Partitions' });
    expect(desiredAggregators({ ...base, floor: 8, lag: 0 })).toEqual({ replicas: 6, reason: 'Partitions' });
  });
  it('partitions only grow', () => {
    expect(desiredPartitions(6, 12)).toBe(12);
    expect(desiredPartitions(24, 12)).toBe(24);
    expect(desiredPartitions(6, undefined)).toBe(6);
  });
});
