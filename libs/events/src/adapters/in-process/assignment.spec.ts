import { describe, expect, it } from '@jest/globals';
import { assignPartitions } from './assignment.js';

describe('assignPartitions', () => {
  it('gives a lone member every partition of its topics', () => {
    const result = assignPartitions([{ memberId: 'a', topics: ['t'] }], [{ name: 't', partitions: 3 }]);
    expect(result.get('a')).toEqual([0, 1, 2].map((partition) => ({ topic: 't', partition })));
  });

  it('splits partitions disjointly, completely and evenly, whatever order the members are listed in', () => {
    const topics = [{ name: 'video.likes', partitions: 3 }, { name: 'video.views', partitions: 3 }];
    const members = ['m3', 'm1', 'm2'].map((memberId) => ({ memberId, topics: ['video.views', 'video.likes'] }));
    const result = assignPartitions(members, topics);
    expect(assignPartitions([...members].reverse(), topics)).toEqual(result);
    const all = [...result.values()].flat().map((tp) => `${tp.topic}/${tp.partition}`);
    expect(all.sort()).toEqual(['video.likes/0', 'video.likes/1', 'video.likes/2', 'video.views/0', 'video.views/1', 'video.views/2']);
    for (const parts of result.values()) expect(parts).toHaveLength(2);
  });

  it('carries the turn across topics so single-partition topics do not all land on the first member', () => {
    const topics = ['a', 'b', 'c', 'd'].map((name) => ({ name, partitions: 1 }));
    const result = assignPartitions([{ memberId: 'x', topics: ['a', 'b', 'c', 'd'] }, { memberId: 'y', topics: ['a', 'b', 'c', 'd'] }], topics);
    expect(result.get('x')).toHaveLength(2);
    expect(result.get('y')).toHaveLength(2);
  });

  it('only gives a member the topics it subscribed to, and leaves members with more members than partitions idle', () => {
    const result = assignPartitions(
      [{ memberId: 'a', topics: ['t'] }, { memberId: 'b', topics: ['u'] }, { memberId: 'c', topics: ['t'] }],
      [{ name: 't', partitions: 1 }, { name: 'u', partitions: 2 }],
    );
    expect(result.get('a')).toEqual([{ topic: 't', partition: 0 }]);
    expect(result.get('b')).toEqual([{ topic: 'u', partition: 0 }, { topic: 'u', partition: 1 }]);
    expect(result.get('c')).toEqual([]);
  });
});
