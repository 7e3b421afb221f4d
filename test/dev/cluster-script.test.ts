// `npm run cluster` (scripts/cluster.mjs) as a user runs it in a terminal: started in a process group of its own,
// as a shell starts a foreground job, and stopped with Ctrl-C, which the terminal sends to that whole group. The
// script must then stop the platform in order: every service has exited before Kafka, Redis or PostgreSQL stops, so
// no service drains against infrastructure that is going away (it used to: they all got the SIGINT at once).
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort, pidAlive } from '@kinora/testing';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let launcher: ChildProcess | undefined;
const kept = mkdtempSync(join(tmpdir(), 'kinora-cluster-script-test-'));
afterAll(() => {
  rmSync(kept, { recursive: true, force: true });
  // A failed assertion must not leave a platform behind (the group holds every process the script started).
  if (launcher?.pid !== undefined && launcher.exitCode === null) {
    try {
      process.kill(-launcher.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/** pid → command name of the direct children of `parent` (from /proc). */
function childrenOf(parent: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === parent) out.set(Number(entry), readFileSync(`/proc/${entry}/comm`, 'utf8').trim());
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * Runs the script as a shell runs a foreground job (a process group of its own), with `env` added; `output()` is what
 * it printed so far, `exited` its end.
 */
function launch(env: Record<string, string>) {
  const child = spawn(process.execPath, [join(root, 'scripts/cluster.mjs')], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  launcher = child;
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => output };
}

describe('npm run cluster in a terminal', () => {
  it('stops on Ctrl-C (SIGINT to its whole process group): services first, then Kafka, Redis and PostgreSQL; KINORA_KEEP_LOGS keeps the logs', async () => {
    const port = await getFreePort();
    const logsDir = join(kept, 'logs');
    const { child, exited, output: printed } = launch({ PORT: String(port), KINORA_KEEP_LOGS: logsDir });
    let ready = false;
    let ended = false;
    void exited.then(() => (ended = true));
    for (const t = performance.now(); !ready && !ended && performance.now() - t < 240_000; ) {
      await new Promise((r) => setTimeout(r, 200));
      ready = printed().includes('is ready at');
    }
    expect({ ready, output: ready ? '' : printed() }).toEqual({ ready: true, output: '' });
    expect((await fetch(`http://127.0.0.1:${port}/api/v1/videos`)).status).toBe(200);

    const children = childrenOf(child.pid!);
    const services = [...children].filter(([, comm]) => comm === 'node').map(([pid]) => pid);
    const infrastructure = [...children].filter(([, comm]) => comm !== 'node');
    // 11 services (two gateways, two realtime, two analytics) and the edge; PostgreSQL primary + replica, Redis, Kafka.
    expect(services.length).toBeGreaterThanOrEqual(14);
    expect(infrastructure.map(([, comm]) => comm).sort()).toEqual(expect.arrayContaining(['java', 'postgres', 'postgres', 'redis-server']));

    const gone = new Map<number, number>();
    const t0 = performance.now();
    process.kill(-child.pid!, 'SIGINT');
    while (!ended && performance.now() - t0 < 120_000) {
      for (const pid of children.keys()) if (!gone.has(pid) && !pidAlive(pid)) gone.set(pid, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const pid of children.keys()) if (!gone.has(pid) && !pidAlive(pid)) gone.set(pid, performance.now() - t0);
    const { code, signal } = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(printed()).toContain(`[cluster] stopped; the logs are kept in ${logsDir}`);
    // The processes' logs outlive the run folder, whose data is gone.
    const runLogs = /\[cluster\] logs: (\S+)/.exec(printed())?.[1];
    expect(runLogs).toBeDefined();
    expect(existsSync(dirname(runLogs!))).toBe(false);
    const logs = readdirSync(logsDir);
    expect(logs).toEqual(expect.arrayContaining(['edge.log', 'gateway-1.log', 'gateway-2.log', 'user.log', 'video.log']));
    // Nothing left behind, and the order: the last service gone before the first piece of infrastructure.
    expect([...children.keys()].filter(pidAlive)).toEqual([]);
    const lastService = Math.max(...services.map((pid) => gone.get(pid)!));
    const firstInfra = Math.min(...infrastructure.map(([pid]) => gone.get(pid)!));
    expect({ lastService, firstInfra, before: lastService < firstInfra }).toMatchObject({ before: true });
  }, 420_000);

  it('keeps the logs of a start-up that failed where KINORA_KEEP_LOGS says, and names them in its error', async () => {
    const logsDir = join(kept, 'failed');
    // A setting every service refuses: the first service started (user) exits at once.
    const { exited, output } = launch({ PORT: String(await getFreePort()), KINORA_KEEP_LOGS: logsDir, COUNTER_FLUSH_INTERVAL_MS: 'often' });
    const { code } = await exited;
    const printed = output();
    expect(code).toBe(1);
    expect(printed).toContain('[cluster] start-up failed: user');
    expect(printed).toContain(`(the logs are kept in ${logsDir})`);
    expect(readFileSync(join(logsDir, 'user.log'), 'utf8')).toContain('COUNTER_FLUSH_INTERVAL_MS must be an integer');
  }, 240_000);
});
