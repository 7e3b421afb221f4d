import { describe, expect, it } from '@jest/globals';
import { problemDetail } from './proxy.plugin.js';

// What the gateway logs of an upstream answer its breaker counts: enough to say why the upstream failed.
describe('problemDetail', () => {
  it('takes the detail of a problem, else its title', () => {
    expect(problemDetail(Buffer.from(JSON.stringify({ status: 503, title: 'Channel directory unavailable', detail: 'try again' })))).toBe('try again');
    expect(problemDetail(JSON.stringify({ status: 500, title: 'Internal error' }))).toBe('Internal error');
  });

  it('falls back to the first bytes of a body that is not a problem, and bounds the length', () => {
    expect(problemDetail(Buffer.from('<html>Bad gateway</html>'))).toBe('<html>Bad gateway</html>');
    expect(problemDetail(Buffer.from('{"status":502}'))).toBe('{"status":502}');
    expect(problemDetail('x'.repeat(10_000))).toHaveLength(300);
    expect(problemDetail(JSON.stringify({ detail: 'd'.repeat(1000) }))).toHaveLength(300);
    expect(problemDetail(Buffer.alloc(0))).toBe('');
  });
});
