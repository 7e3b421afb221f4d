import { describe, expect, it } from '@jest/globals';
import { parseProbeJson } from './probe.js';

const phoneVideo = {
  streams: [
    {
      index: 0,
      codec_name: 'h264',
      codec_type: 'video',
      width: 1920,
      height: 1080,
      sample_aspect_ratio: '1:1',
      pix_fmt: 'yuv420p',
      r_frame_rate: '30/1',
      avg_frame_rate: '30000/1001',
      duration: '12.345000',
      nb_frames: '370',
      disposition: { default: 1, attached_pic: 0 },
      side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }],
    },
    { index: 1, codec_name: 'aac', codec_type: 'audio', sample_rate: '44100', channels: 2, duration: '12.300000' },
    { index: 2, codec_type: 'data', codec_name: 'none' },
  ],
  format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '12.345000', size: '1048576', bit_rate: '679000', start_time: '0.000000' },
};

describe('parseProbeJson', () => {
  it('types streams and applies the display rotation to the display size', () => {
    const result = parseProbeJson(JSON.stringify(phoneVideo));
    expect(result).toMatchObject({ formatName: 'mov,mp4,m4a,3gp,3g2,mj2', durationSec: 12.345, sizeBytes: 1048576, startTimeSec: 0 });
    expect(result.streams[0]).toEqual({
      index: 0,
      codecType: 'video',
      codecName: 'h264',
      width: 1920,
      height: 1080,
      displayWidth: 1080,
      displayHeight: 1920,
      rotation: 270,
      avgFrameRate: { num: 30000, den: 1001 },
      rFrameRate: { num: 30, den: 1 },
      pixFmt: 'yuv420p',
      attachedPic: false,
      durationSec: 12.345,
      bitRate: null,
      nbFrames: 370,
      nbReadPackets: null,
    });
    expect(result.streams[1]).toMatchObject({ codecType: 'audio', codecName: 'aac', channels: 2, sampleRate: 44100 });
    expect(result.streams[2]).toMatchObject({ codecType: 'data', codecName: null });
  });

  it('applies a non-square sample aspect ratio (anamorphic DVD: 720×576 at 16:15 → 768×576)', () => {
    const result = parseProbeJson({
      streams: [{ index: 0, codec_type: 'video', codec_name: 'mpeg2video', width: 720, height: 576, sample_aspect_ratio: '16:15' }],
      format: { format_name: 'mpeg' },
    });
    expect(result.streams[0]).toMatchObject({ displayWidth: 768, displayHeight: 576, rotation: 0 });
  });

  it('reads the legacy rotate tag, attached pictures and N/A values', () => {
    const result = parseProbeJson({
      streams: [
        { index: 0, codec_type: 'video', codec_name: 'h264', width: 640, height: 480, tags: { rotate: '90' }, avg_frame_rate: '0/0' },
        { index: 1, codec_type: 'video', codec_name: 'mjpeg', width: 500, height: 500, disposition: { attached_pic: 1 } },
      ],
      format: { format_name: 'mov', duration: 'N/A' },
    });
    expect(result.durationSec).toBeNull();
    expect(result.streams[0]).toMatchObject({ rotation: 90, displayWidth: 480, displayHeight: 640, avgFrameRate: null });
    expect(result.streams[1]).toMatchObject({ attachedPic: true });
  });

  it('copes with an empty document', () => {
    expect(parseProbeJson('{}')).toMatchObject({ formatName: 'unknown', streams: [], durationSec: null });
  });
});
