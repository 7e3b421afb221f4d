import { describe, expect, it } from '@jest/globals';
import { Server } from 'socket.io';
import { sendFramesWhole } from './realtime.server.js';

describe('broadcast frames', () => {
  it('are handed to ws as one buffer (header and payload together), byte for byte what socket.io built', () => {
    const io = new Server();
    const plain = io.of('/plain').adapter as unknown as { _encode(p: unknown, o: Record<string, unknown>): unknown };
    const whole = io.of('/whole').adapter as unknown as { _encode(p: unknown, o: Record<string, unknown>): unknown };
    sendFramesWhole(whole);
    const packet = { type: 2, data: ['video:counts', { videoId: 'v', views: 1 }], nsp: '/x' };
    const a: Record<string, unknown> = {};
    const b: Record<string, unknown> = {};
    expect(whole._encode(packet, b)).toEqual(plain._encode(packet, a));
    const parts = a['wsPreEncodedFrame'] as Buffer[];
    const merged = b['wsPreEncodedFrame'] as Buffer[];
    expect(parts).toHaveLength(2);
    expect(merged).toHaveLength(1);
    expect(merged[0]!.equals(Buffer.concat(parts))).toBe(true);
  });
});
