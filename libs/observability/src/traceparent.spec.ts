import { describe, expect, it } from '@jest/globals';
import { parseTraceparent } from './traceparent.js';

describe('parseTraceparent', () => {
  it('parses a valid header', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: '01',
    });
  });
  it.each(['', 'garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'])(
    'rejects %j',
    (h) => expect(parseTraceparent(h)).toBeUndefined(),
  );
});
