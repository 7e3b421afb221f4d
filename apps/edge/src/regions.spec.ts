import { describe, expect, it } from '@jest/globals';
import { normalizeCidr, parseRegionFile, RegionFileError } from './regions.js';

describe('normalizeCidr', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['127.0.0.1', '127.0.0.1/32'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['::1', '::1/128'],
    ['0.0.0.0/0', '0.0.0.0/0'],
  ])('accepts %s as %s', (input, out) => {
    expect(normalizeCidr(input)).toBe(out);
  });

  it.each(['10.0.0.0/33', '10.0.0/8', '2001:db8::/129', 'example.com', '10.0.0.0/', '10.0.0.0/8;', '1.2.3.4 ', '$remote_addr'])(
    'rejects %j',
    (input) => {
      expect(normalizeCidr(input)).toBeUndefined();
    },
  );
});

describe('parseRegionFile', () => {
  it('reads ranges, comments, blank lines and nginx-style trailing semicolons', () => {
    const text = ['# header', '', '10.0.0.0/8 eu-west', '  192.0.2.7   us-east ; # one host', '2001:db8::/32\tap-south;'].join('\n');
    expect(parseRegionFile(text)).toEqual([
      { cidr: '10.0.0.0/8', region: 'eu-west' },
      { cidr: '192.0.2.7/32', region: 'us-east' },
      { cidr: '2001:db8::/32', region: 'ap-south' },
    ]);
  });

  it.each([
    ['10.0.0.0/8', 1, 'expected'],
    ['10.0.0.0/8 eu west', 1, 'expected'],
    ['# ok\n10.0.0.0/40 eu-west', 2, 'CIDR'],
    ['10.0.0.0/8 EU_West', 1, 'region'],
    ['10.0.0.0/8 eu-west;}\ninclude /etc/passwd;', 1, 'region'],
    ['10.0.0.0/8 a\n10.0.0.0/8 b', 2, 'line 1'],
  ])('rejects %j at line %i', (text, line, reason) => {
    let error: unknown;
    try {
      parseRegionFile(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RegionFileError);
    expect((error as RegionFileError).line).toBe(line);
    expect((error as Error).message).toContain(reason);
  });
});
