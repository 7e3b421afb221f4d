import { describe, expect, it } from '@jest/globals';
import { getTestEnv, parseBrokers, TEST_ENV_VARS } from './test-env.js';

describe('getTestEnv', () => {
  const full = {
    [TEST_ENV_VARS.databaseUrl]: 'postgres://u:p@127.0.0.1:1/postgres',
    [TEST_ENV_VARS.databaseReplicaUrl]: 'postgres://u:p@127.0.0.1:2/postgres',
    [TEST_ENV_VARS.redisUrl]: 'redis://127.0.0.1:3',
    [TEST_ENV_VARS.kafkaBrokers]: ' 127.0.0.1:4, 127.0.0.1:5 ,',
  };

  it('reads every address, splitting the broker list', () => {
    expect(getTestEnv(full)).toEqual({
      databaseUrl: 'postgres://u:p@127.0.0.1:1/postgres',
      databaseReplicaUrl: 'postgres://u:p@127.0.0.1:2/postgres',
      redisUrl: 'redis://127.0.0.1:3',
      kafkaBrokers: ['127.0.0.1:4', '127.0.0.1:5'],
    });
  });

  it('passes TEST_KUBECONFIG through when set, and leaves it out otherwise', () => {
    expect(getTestEnv({ ...full, TEST_KUBECONFIG: '/tmp/kubeconfig' }).kubeconfig).toBe('/tmp/kubeconfig');
    expect('kubeconfig' in getTestEnv(full)).toBe(false);
  });

  it('names only the variables that are missing', () => {
    const { [TEST_ENV_VARS.redisUrl]: _redis, ...withoutRedis } = full;
    expect(() => getTestEnv(withoutRedis)).toThrow(/^@kinora\/testing: TEST_REDIS_URL not set/);
  });

  it('rejects a broker list with no broker in it', () => {
    expect(() => getTestEnv({ ...full, [TEST_ENV_VARS.kafkaBrokers]: ' , ' })).toThrow(/holds no broker/);
  });
});

describe('parseBrokers', () => {
  it('drops blanks', () => {
    expect(parseBrokers('a:1,,b:2 ')).toEqual(['a:1', 'b:2']);
  });
});
