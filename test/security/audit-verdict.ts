// Reads `npm audit --json` output: a report, or the reason the advisory endpoint could not be asked.

export type AuditVerdict =
  | { kind: 'report'; /** `name (severity): title` of every high or critical advisory. */ high: string[]; counts: Record<string, number> }
  | { kind: 'unavailable'; reason: string };

interface AuditJson {
  auditReportVersion?: number;
  vulnerabilities?: Record<string, { name: string; severity: string; via: Array<string | { title?: string; url?: string }> }>;
  metadata?: { vulnerabilities?: Record<string, number> };
  message?: string;
  statusCode?: number;
  error?: { code?: string; summary?: string; detail?: string };
}

export function auditVerdict(stdout: string, stderr: string): AuditVerdict {
  let json: AuditJson;
  try {
    json = JSON.parse(stdout) as AuditJson;
  } catch {
    const line = (stderr.split('\n').find((l) => /error/i.test(l)) ?? stderr.split('\n')[0] ?? '').trim();
    return { kind: 'unavailable', reason: `npm audit printed no JSON report (${line.slice(0, 200) || 'no output'})` };
  }
  if (json.vulnerabilities && typeof json.vulnerabilities === 'object' && json.auditReportVersion !== undefined) {
    const high = Object.values(json.vulnerabilities)
      .filter((v) => v.severity === 'high' || v.severity === 'critical')
      .map((v) => {
        const titles = v.via.map((x) => (typeof x === 'string' ? `via ${x}` : (x.title ?? x.url ?? '?')));
        return `${v.name} (${v.severity}): ${titles.join('; ')}`;
      });
    return { kind: 'report', high, counts: json.metadata?.vulnerabilities ?? {} };
  }
  const what = json.statusCode !== undefined ? `HTTP ${json.statusCode}` : (json.error?.code ?? 'error');
  const message = (json.message ?? json.error?.summary ?? 'no report').replace(/https?:\/\/\S+/g, '<registry>');
  return { kind: 'unavailable', reason: `the audit endpoint did not answer with a report (${what}: ${message.slice(0, 160)})` };
}
