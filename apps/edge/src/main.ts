import { ConfigError } from '@kinora/config';
import { loadEdgeConfig, loadEdgeConfigOrExit, type EdgeConfig } from './config.js';
import { EdgeStartError, startEdge } from './launcher.js';

// `npm run edge`: render the configuration into the run folder and run nginx in the foreground.
// SIGTERM/SIGINT stop it gracefully (a second signal stops it at once); SIGHUP re-reads the environment's files
// (the regions file, certificates) and reloads without dropping connections.

function log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, time: new Date().toISOString(), name: 'kinora-edge', msg, ...fields });
  (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
}

function urls(config: EdgeConfig): string[] {
  const host = config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost;
  const out: string[] = [];
  if (config.httpPort !== null) out.push(`http://${host}:${config.httpPort}`);
  if (config.tls) out.push(`https://${host}:${config.tls.port}`);
  return out;
}

const started = Date.now();
const config = loadEdgeConfigOrExit();
let edge;
try {
  edge = await startEdge(config, { stdio: 'inherit' });
} catch (err) {
  if (err instanceof EdgeStartError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
const running = edge;
log('info', 'edge is ready', {
  listen: urls(config),
  gateways: config.gateways,
  realtime: config.realtime,
  region: config.region.default,
  regionRanges: config.region.ranges.length,
  runDir: config.runDir,
  pid: running.pid,
  ms: Date.now() - started,
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    log('info', stopping ? 'stopping now' : 'stopping after open requests', { signal });
    void running.stop(stopping ? 'fast' : 'graceful');
    stopping = true;
  });
}
process.on('SIGHUP', () => {
  try {
    const next = loadEdgeConfig();
    running.reload(next).then(
      () => log('info', 'configuration reloaded', { gateways: next.gateways, regionRanges: next.region.ranges.length }),
      (err: unknown) => log('error', 'reload refused; the running configuration stays', { error: (err as Error).message }),
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log('error', 'reload refused; the running configuration stays', { error: err.message });
  }
});

const { code, signal } = await running.exited;
if (!stopping) log('error', 'nginx exited', { code, signal });
process.exit(stopping ? 0 : (code ?? 1) || 1);
