import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConfigError, deepFreeze, envInt, envList, envString, type Env } from '@kinora/config';
import { CONTROLLER_KINDS, type ControllerKind } from './operator.js';
import { DEFAULT_TRANSCODE_COMMAND } from './reconcile/transcodejob.jobs.js';

function exitCodes(env: Env, name: string, def: number[]): number[] {
  const list = envList(env, name);
  if (envString(env, name) === undefined) return def;
  if (list.length === 1 && list[0] === 'none') return [];
  if (!list.every((c) => /^\d{1,3}$/.test(c) && Number(c) >= 1 && Number(c) <= 255)) throw new ConfigError(name, 'a comma list of exit codes 1-255, or none', envString(env, name));
  return list.map(Number);
}

export interface OperatorConfig {
  /** KUBECONFIG file; unset in a Pod (the service account is used). */
  kubeconfig: string | undefined;
  watchNamespace: string | undefined;
  controllers: ControllerKind[];
  port: number;
  host: string;
  logLevel: string;
  leaderElection: { enabled: boolean; namespace: string; leaseName: string; identity: string };
  transcode: { permanentExitCodes: number[]; image: string; command: string[]; env: { name: string; value: string }[]; envFromSecret: string | undefined; serviceAccountName: string | undefined };
  kafkaBrokers: string[];
  databaseUrl: string | undefined;
  lagIntervalMs: number;
  probeIntervalMs: number;
  workers: number;
}

function jsonStringArray(env: Env, name: string, def: string[]): string[] {
  const raw = envString(env, name);
  if (raw === undefined) return def;
  try {
    const v = JSON.parse(raw) as unknown;
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x !== '')) return v as string[];
  } catch {
    // reported below
  }
  throw new ConfigError(name, 'a JSON array of non-empty strings, e.g. ["node","apps/transcoder/dist/transcode-job.js"]', raw);
}

function jsonStringMap(env: Env, name: string): { name: string; value: string }[] {
  const raw = envString(env, name);
  if (raw === undefined) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')) {
      return Object.entries(v as Record<string, string>).map(([n, value]) => ({ name: n, value }));
    }
  } catch {
    // reported below
  }
  throw new ConfigError(name, 'a JSON object of strings, e.g. {"STORAGE_URL":"s3://media"}', raw);
}

/** The operator's configuration, read once from the environment (this is the one place that reads it). */
export function loadOperatorConfig(env: Env = process.env): Readonly<OperatorConfig> {
  const controllersRaw = envList(env, 'OPERATOR_CONTROLLERS');
  const controllers = controllersRaw.length === 0 ? [...CONTROLLER_KINDS] : controllersRaw;
  for (const c of controllers) if (!(CONTROLLER_KINDS as readonly string[]).includes(c)) throw new ConfigError('OPERATOR_CONTROLLERS', `a comma list of ${CONTROLLER_KINDS.join(', ')}`, controllersRaw.join(','));
  const le = envString(env, 'LEADER_ELECTION') ?? 'true';
  if (le !== 'true' && le !== 'false') throw new ConfigError('LEADER_ELECTION', 'true or false', le);
  const podNamespace = envString(env, 'POD_NAMESPACE');
  if (le === 'true' && !podNamespace && !envString(env, 'LEADER_ELECTION_NAMESPACE')) throw new ConfigError('LEADER_ELECTION_NAMESPACE', 'set (or POD_NAMESPACE) when LEADER_ELECTION is true', undefined);
  const level = envString(env, 'LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) throw new ConfigError('LOG_LEVEL', 'one of fatal, error, warn, info, debug, trace, silent', level);
  return deepFreeze({
    kubeconfig: envString(env, 'KUBECONFIG'),
    watchNamespace: envString(env, 'WATCH_NAMESPACE'),
    controllers: controllers as ControllerKind[],
    port: envInt(env, 'OPERATOR_PORT', 8081, 0, 65535),
    host: envString(env, 'OPERATOR_HOST') ?? '0.0.0.0',
    logLevel: level,
    leaderElection: {
      enabled: le === 'true',
      namespace: envString(env, 'LEADER_ELECTION_NAMESPACE') ?? podNamespace ?? 'default',
      leaseName: envString(env, 'LEADER_ELECTION_LEASE') ?? 'kinora-operator',
      identity: `${envString(env, 'POD_NAME') ?? hostname()}-${randomBytes(3).toString('hex')}`,
    },
    transcode: {
      image: envString(env, 'TRANSCODER_IMAGE') ?? 'ghcr.io/kinora/kinora:0.1.0',
      command: jsonStringArray(env, 'TRANSCODE_COMMAND', DEFAULT_TRANSCODE_COMMAND),
      permanentExitCodes: exitCodes(env, 'TRANSCODE_PERMANENT_EXIT_CODES', [2, 3]),
      env: jsonStringMap(env, 'TRANSCODE_JOB_ENV'),
      envFromSecret: envString(env, 'TRANSCODE_JOB_ENV_SECRET'),
      serviceAccountName: envString(env, 'TRANSCODE_JOB_SERVICE_ACCOUNT'),
    },
    kafkaBrokers: envList(env, 'KAFKA_BROKERS'),
    databaseUrl: envString(env, 'DATABASE_URL'),
    lagIntervalMs: envInt(env, 'LAG_INTERVAL_MS', 30_000, 1000, 3_600_000),
    probeIntervalMs: envInt(env, 'REPLICA_PROBE_INTERVAL_MS', 30_000, 1000, 3_600_000),
    workers: envInt(env, 'OPERATOR_WORKERS', 4, 1, 64),
  });
}
