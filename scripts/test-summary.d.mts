export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}
export function countsOf(report: Record<string, unknown>): Counts;
export function vitestTargets(argv: readonly string[]): string[] | null;
export function pickWeb(paths: readonly string[]): string[] | null;
