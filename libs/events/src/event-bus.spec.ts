import { describe, expect, it } from '@jest/globals';
import { assertTopicName, checkSubscribeOptions, type SubscribeOptions } from './event-bus.js';

const handler = async () => {};
const valid: SubscribeOptions = { group: 'g', topics: ['video.uploaded'], handler };

describe('checkSubscribeOptions (what every adapter checks on subscribe)', () => {
  it('returns the group, the topics without duplicates in their order, and the batch size (default 100)', () => {
    expect(checkSubscribeOptions(valid)).toEqual({ group: 'g', topics: ['video.uploaded'], maxBatchSize: 100 });
    expect(checkSubscribeOptions({ ...valid, topics: ['b', 'a', 'b', 'a'], maxBatchSize: 1 })).toEqual({ group: 'g', topics: ['b', 'a'], maxBatchSize: 1 });
  });

  it('refuses a missing or empty group', () => {
    expect(() => checkSubscribeOptions({ ...valid, group: '' })).toThrow(new TypeError('subscribe needs a non-empty group'));
    expect(() => checkSubscribeOptions({ ...valid, group: undefined as unknown as string })).toThrow(new TypeError('subscribe needs a non-empty group'));
  });

  it('refuses no topics, topics that are not a list, and an invalid topic name', () => {
    expect(() => checkSubscribeOptions({ ...valid, topics: [] })).toThrow(new TypeError('subscribe needs at least one topic'));
    expect(() => checkSubscribeOptions({ ...valid, topics: 'video.uploaded' as unknown as string[] })).toThrow(new TypeError('subscribe needs at least one topic'));
    expect(() => checkSubscribeOptions({ ...valid, topics: ['ok', 'not ok'] })).toThrow(/^invalid topic name "not ok"/);
    expect(() => checkSubscribeOptions({ ...valid, topics: ['..'] })).toThrow(TypeError);
  });

  it('refuses a handler that is not a function', () => {
    expect(() => checkSubscribeOptions({ ...valid, handler: undefined as unknown as SubscribeOptions['handler'] })).toThrow(new TypeError('subscribe needs a handler'));
  });

  it('refuses a batch size that is not a positive whole number', () => {
    for (const maxBatchSize of [0, -1, 1.5, Number.NaN]) {
      expect(() => checkSubscribeOptions({ ...valid, maxBatchSize })).toThrow(new RangeError(`maxBatchSize must be a positive integer, got ${maxBatchSize}`));
    }
  });
});

describe('assertTopicName', () => {
  it("takes Kafka's names and refuses the rest", () => {
    expect(() => assertTopicName('video.uploaded_v1-2')).not.toThrow();
    expect(() => assertTopicName('x'.repeat(249))).not.toThrow();
    for (const bad of ['', '.', '..', 'x'.repeat(250), 'a/b', 'é']) expect(() => assertTopicName(bad)).toThrow(TypeError);
  });
});
