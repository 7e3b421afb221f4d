import { describe, expect, it } from '@jest/globals';
import { ProgressParser } from './ffmpeg.runner.js';

const BLOCK = `frame=180
fps=58.48
stream_0_0_q=-1.0
bitrate=1234.5kbits/s
total_size=987654
out_time_us=6016000
out_time_ms=6016000
out_time=00:00:06.016000
dup_frames=1
drop_frames=0
speed=1.95x
progress=continue
`;

describe('ProgressParser', () => {
  it('turns one key=value block into one typed event', () => {
    const [event, ...rest] = new ProgressParser().push(BLOCK);
    expect(rest).toEqual([]);
    expect(event).toEqual({
      frame: 180,
      fps: 58.48,
      outTimeSec: 6.016,
      speed: 1.95,
      bitrateKbps: 1234.5,
      totalSizeBytes: 987654,
      dupFrames: 1,
      dropFrames: 0,
      done: false,
    });
  });

  it('keeps partial lines across chunks and emits when a block ends', () => {
    const parser = new ProgressParser();
    const text = BLOCK + BLOCK.replace('progress=continue', 'progress=end');
    const events = [];
    for (let i = 0; i < text.length; i += 7) events.push(...parser.push(text.slice(i, i + 7)));
    expect(events).toHaveLength(2);
    expect(events.map((e) => e.done)).toEqual([false, true]);
  });

  it('maps N/A and negative start-up times to null', () => {
    const [event] = new ProgressParser().push(
      'frame=0\nfps=0.00\nbitrate=N/A\ntotal_size=N/A\nout_time_us=-9223372036854775807\nout_time=-577014:32:22.775808\nspeed=N/A\nprogress=continue\n',
    );
    expect(event).toMatchObject({ frame: 0, bitrateKbps: null, totalSizeBytes: null, outTimeSec: null, speed: null });
  });

  it('falls back to out_time when the microsecond fields are missing', () => {
    const [event] = new ProgressParser().push('out_time=01:02:03.500000\r\nprogress=end\r\n');
    expect(event?.outTimeSec).toBeCloseTo(3723.5, 6);
    expect(event?.done).toBe(true);
  });

  it('ignores lines that are not key=value', () => {
    expect(new ProgressParser().push('garbage\n=x\n\n')).toEqual([]);
  });
});
