import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Controls, hoverTime, type ControlsProps } from './Controls.js';
import { parseStoryboard } from './storyboard.js';

afterEach(cleanup);

function props(over: Partial<ControlsProps> = {}): ControlsProps {
  return {
    paused: true,
    currentTime: 12,
    duration: 60,
    muted: false,
    volume: 0.8,
    levels: [
      { index: 0, height: 144, bitrate: 200_000 },
      { index: 1, height: 360, bitrate: 800_000 },
      { index: 2, height: 240, bitrate: 400_000 },
    ],
    selected: -1,
    currentHeight: 240,
    native: false,
    engine: 'hls',
    dashAvailable: true,
    storyboard: [],
    onToggle: vi.fn(),
    onSeek: vi.fn(),
    onMute: vi.fn(),
    onVolume: vi.fn(),
    onQuality: vi.fn(),
    onEngine: vi.fn(),
    onFullscreen: vi.fn(),
    ...over,
  };
}

describe('player controls', () => {
  it('plays, pauses, mutes, goes fullscreen and shows the time', () => {
    const p = props();
    const { rerender } = render(<Controls {...p} />);
    expect(screen.getByTestId('time').textContent).toBe('0:12 / 1:00');
    fireEvent.click(screen.getByRole('button', { name: 'Play' }));
    expect(p.onToggle).toHaveBeenCalledTimes(1);
    rerender(<Controls {...p} paused={false} />);
    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    expect(p.onToggle).toHaveBeenCalledTimes(2);
    fireEvent.click(screen.getByRole('button', { name: 'Mute' }));
    expect(p.onMute).toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Fullscreen' }));
    expect(p.onFullscreen).toHaveBeenCalled();
    rerender(<Controls {...p} muted />);
    expect(screen.getByRole('button', { name: 'Unmute' }).getAttribute('aria-pressed')).toBe('true');
    expect((screen.getByLabelText('Volume') as HTMLInputElement).value).toBe('0');
  });

  it('seeks with the seek bar and sets the volume', () => {
    const p = props();
    render(<Controls {...p} />);
    fireEvent.change(screen.getByLabelText('Seek'), { target: { value: '30' } });
    expect(p.onSeek).toHaveBeenCalledWith(30);
    fireEvent.change(screen.getByLabelText('Volume'), { target: { value: '0.25' } });
    expect(p.onVolume).toHaveBeenCalledWith(0.25);
  });

  it('offers Auto (with the playing height) and every rendition from the highest down, and reports the choice', () => {
    const p = props();
    render(<Controls {...p} />);
    const quality = screen.getByLabelText('Quality') as HTMLSelectElement;
    expect([...quality.options].map((o) => o.textContent)).toEqual(['Auto (240p)', '360p', '240p', '144p']);
    fireEvent.change(quality, { target: { value: '0' } });
    expect(p.onQuality).toHaveBeenCalledWith(0);
    fireEvent.change(screen.getByLabelText('Streaming format'), { target: { value: 'dash' } });
    expect(p.onEngine).toHaveBeenCalledWith('dash');
  });

  it('disables the quality menu for native playback and hides the format choice without DASH', () => {
    render(<Controls {...props({ native: true, dashAvailable: false })} />);
    expect((screen.getByLabelText('Quality') as HTMLSelectElement).disabled).toBe(true);
    expect(screen.queryByLabelText('Streaming format')).toBeNull();
  });

  it('shows the storyboard image under the pointer on the seek bar, and the time only without a storyboard', () => {
    const cues = parseStoryboard('WEBVTT\n\n00:00:00.000 --> 00:00:30.000\nsprite_0.jpg#xywh=0,0,160,90\n\n00:00:30.000 --> 00:01:00.000\nsprite_0.jpg#xywh=160,0,160,90\n', 'http://k.test/media/v/storyboard/index.vtt');
    const { rerender } = render(<Controls {...props({ storyboard: cues })} />);
    const bar = screen.getByLabelText('Seek');
    bar.getBoundingClientRect = () => ({ left: 100, width: 600, top: 0, height: 10, right: 700, bottom: 10, x: 100, y: 0, toJSON: () => ({}) });
    act(() => {
      fireEvent.pointerMove(bar, { clientX: 100 + 450 });
    });
    const image = screen.getByTestId('storyboard-image');
    expect(image.style.backgroundImage).toContain('http://k.test/media/v/storyboard/sprite_0.jpg');
    expect(image.style.backgroundPosition).toBe('-160px 0px');
    expect(screen.getByTestId('storyboard-preview').textContent).toBe('0:45');
    fireEvent.pointerLeave(bar);
    expect(screen.queryByTestId('storyboard-preview')).toBeNull();
    rerender(<Controls {...props({ storyboard: [] })} />);
    act(() => {
      fireEvent.pointerMove(bar, { clientX: 100 + 60 });
    });
    expect(screen.queryByTestId('storyboard-image')).toBeNull();
    expect(screen.getByTestId('storyboard-preview').textContent).toBe('0:06');
  });

  it('computes the time under the pointer within the bar', () => {
    expect(hoverTime(50, { left: 100, width: 200 }, 60)).toBe(0);
    expect(hoverTime(200, { left: 100, width: 200 }, 60)).toBe(30);
    expect(hoverTime(900, { left: 100, width: 200 }, 60)).toBe(60);
    expect(hoverTime(200, { left: 100, width: 0 }, 60)).toBe(0);
  });
});
