import { describe, expect, it } from '@jest/globals';
import { ChunkIndexError, InvalidMediaError } from '@kinora/media';
import { InvalidKeyError } from '@kinora/storage';
import { MissingWorkError } from './services/chunked.service.js';
import { SourceMissingError, StorageOperationError } from './services/failure.classifier.js';
import { EXIT, exitCodeOf, parseJobArgs, stderrLogger } from './transcode-job.js';

const ids = ['--video', 'v1', '--source', 'uploads/v1'];

describe('parseJobArgs', () => {
  it('reads each step with its options', () => {
    expect(parseJobArgs(['plan', ...ids, '--chunk-sec', '30'])).toEqual({
      step: 'plan',
      ref: { videoId: 'v1', sourceKey: 'uploads/v1', workPrefix: undefined, outputPrefix: undefined },
      index: undefined,
      chunkSec: 30,
      keepWork: false,
    });
    expect(parseJobArgs(['chunk', ...ids, '--index', '3', '--work', 'w/'])).toMatchObject({ step: 'chunk', index: 3, ref: { workPrefix: 'w/' } });
    expect(parseJobArgs(['audio', ...ids])).toMatchObject({ step: 'audio' });
    expect(parseJobArgs(['join', ...ids, '--output', 'media/v1/', '--keep-work'])).toMatchObject({
      step: 'join',
      keepWork: true,
      ref: { outputPrefix: 'media/v1/' },
    });
  });

  it.each([
    [[], /expected one step/],
    [['plan', 'chunk', ...ids], /expected one step/],
    [['transcode', ...ids], /got transcode/],
    [['plan', '--source', 'uploads/v1'], /--video <id> is required/],
    [['plan', '--video', 'v1'], /--source <key> is required/],
    [['chunk', ...ids], /needs --index/],
    [['chunk', ...ids, '--index', '1.5'], /whole number/],
    [['chunk', ...ids, '--index', 'two'], /whole number/],
    [['audio', ...ids, '--index', '0'], /only for the chunk step/],
    [['join', ...ids], /needs --output/],
    [['plan', ...ids, '--chunk-sec', '2'], /4-3600/],
    [['chunk', ...ids, '--index', '0', '--chunk-sec', '30'], /only for the plan step/],
    [['plan', ...ids, '--unknown'], /unknown/i],
  ])('refuses %j', (argv, message) => {
    let error: unknown;
    try {
      parseJobArgs(argv);
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).toMatch(message);
    expect(exitCodeOf(error)).toBe(EXIT.usage);
  });
});

describe('exitCodeOf', () => {
  it('tells lost causes from transient failures', () => {
    expect(exitCodeOf(new ChunkIndexError('out of range'))).toBe(2);
    expect(exitCodeOf(new InvalidKeyError('../x', 'a segment is ..'))).toBe(2);
    expect(exitCodeOf(new InvalidMediaError('STILL_IMAGE', 'The file is a still image, not a video'))).toBe(3);
    expect(exitCodeOf(new SourceMissingError('uploads/x'))).toBe(4);
    expect(exitCodeOf(new MissingWorkError('no plan'))).toBe(4);
    expect(exitCodeOf(new StorageOperationError('get', 'k', new Error('timeout')))).toBe(1);
    expect(exitCodeOf(new Error('anything'))).toBe(1);
  });
});

describe('stderrLogger', () => {
  it('writes pino-shaped JSON lines at or above its level, with errors serialised', () => {
    const lines: string[] = [];
    const logger = stderrLogger('info', (l) => lines.push(l));
    logger.debug({ a: 1 }, 'hidden');
    logger.info({ chunks: 4 }, 'planned');
    logger.error({ err: new TypeError('boom') }, 'failed');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, service: 'transcode-job', chunks: 4, msg: 'planned' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 50, err: { type: 'TypeError', message: 'boom' }, msg: 'failed' });
    const silent: string[] = [];
    stderrLogger('silent', (l) => silent.push(l)).error({}, 'x');
    expect(silent).toEqual([]);
  });
});
