import { describe, expect, it } from '@jest/globals';
import { auditVerdict } from './audit-verdict.js';

describe('auditVerdict (reading npm audit --json)', () => {
  it('lists high and critical advisories of a report, not moderate ones', () => {
    const report = {
      auditReportVersion: 2,
      vulnerabilities: {
        a: { name: 'a', severity: 'high', via: [{ title: 'Prototype pollution', url: 'x' }] },
        b: { name: 'b', severity: 'moderate', via: [{ title: 'ReDoS' }] },
        c: { name: 'c', severity: 'critical', via: ['a'] },
      },
      metadata: { vulnerabilities: { high: 1, critical: 1, moderate: 1 } },
    };
    expect(auditVerdict(JSON.stringify(report), '')).toEqual({
      kind: 'report',
      high: ['a (high): Prototype pollution', 'c (critical): via a'],
      counts: { high: 1, critical: 1, moderate: 1 },
    });
  });

  it('a clean report passes with nothing listed', () => {
    expect(auditVerdict(JSON.stringify({ auditReportVersion: 2, vulnerabilities: {}, metadata: { vulnerabilities: { high: 0 } } }), '')).toMatchObject({ kind: 'report', high: [] });
  });

  it('an endpoint that refuses (405 from a mirror) is unavailable, with the status and no host name', () => {
    const v = auditVerdict(JSON.stringify({ message: '405 Method Not Allowed - POST https://mirror.example/-/npm/v1/security/advisories/bulk', statusCode: 405 }), 'npm error audit endpoint returned an error');
    expect(v.kind).toBe('unavailable');
    expect(v.kind === 'unavailable' && v.reason).toMatch(/HTTP 405: 405 Method Not Allowed - POST <registry>/);
  });

  it('a network failure or no JSON at all is unavailable, never a pass', () => {
    expect(auditVerdict(JSON.stringify({ error: { code: 'ENOTFOUND', summary: 'request failed' } }), '')).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/ENOTFOUND/) });
    expect(auditVerdict('', 'npm error code EAI_AGAIN\n')).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/EAI_AGAIN/) });
    expect(auditVerdict('', '')).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/no output/) });
  });
});
