import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@kinora/config';
import { loadOperatorConfig } from './config.js';
import { DEFAULT_TRANSCODE_COMMAND } from './reconcile/transcodejob.jobs.js';

describe('operator configuration', () => {
  it('has working defaults in a Pod', () => {
    const c = loadOperatorConfig({ POD_NAMESPACE: 'kinora', POD_NAME: 'op-0' });
    expect(c.controllers).toEqual(['TranscodeJob', 'CounterShardSet', 'RegionReplica']);
    expect(c.leaderElection).toMatchObject({ enabled: true, namespace: 'kinora', leaseName: 'kinora-operator' });
    expect(c.leaderElection.identity).toMatch(/^op-0-[0-9a-f]{6}$/);
    expect(c.transcode.command).toEqual(DEFAULT_TRANSCODE_COMMAND);
    expect(c.transcode.permanentExitCodes).toEqual([2, 3]);
    expect(c.port).toBe(8081);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads the transcode Job settings', () => {
    const c = loadOperatorConfig({
      LEADER_ELECTION: 'false',
      OPERATOR_CONTROLLERS: 'TranscodeJob',
      TRANSCODE_COMMAND: '["node","x.js"]',
      TRANSCODE_JOB_ENV: '{"STORAGE_URL":"s3://media"}',
      TRANSCODE_PERMANENT_EXIT_CODES: 'none',
      KAFKA_BROKERS: 'a:9092,b:9092',
    });
    expect(c.transcode).toMatchObject({ command: ['node', 'x.js'], env: [{ name: 'STORAGE_URL', value: 's3://media' }], permanentExitCodes: [] });
    expect(c.kafkaBrokers).toEqual(['a:9092', 'b:9092']);
  });

  it.each([
    [{ LEADER_ELECTION: 'false', OPERATOR_CONTROLLERS: 'Nope' }, 'OPERATOR_CONTROLLERS'],
    [{ LEADER_ELECTION: 'maybe' }, 'LEADER_ELECTION'],
    [{}, 'LEADER_ELECTION_NAMESPACE'],
    [{ LEADER_ELECTION: 'false', TRANSCODE_COMMAND: 'node x.js' }, 'TRANSCODE_COMMAND'],
    [{ LEADER_ELECTION: 'false', TRANSCODE_JOB_ENV: '{"A":1}' }, 'TRANSCODE_JOB_ENV'],
    [{ LEADER_ELECTION: 'false', TRANSCODE_PERMANENT_EXIT_CODES: '2,x' }, 'TRANSCODE_PERMANENT_EXIT_CODES'],
    [{ LEADER_ELECTION: 'false', OPERATOR_PORT: '70000' }, 'OPERATOR_PORT'],
    [{ LEADER_ELECTION: 'false', LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ])('refuses %j naming %s', (env, variable) => {
    let err: unknown;
    try {
      loadOperatorConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
  });
});
