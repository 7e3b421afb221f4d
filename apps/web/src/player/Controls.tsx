import { useState, type PointerEvent } from 'react';
import { qualityOptions, type Level } from '../quality.js';
import type { EngineName } from './engines.js';
import { formatTime } from './keys.js';
import { cueAt, type StoryboardCue } from './storyboard.js';

export interface ControlsProps {
  paused: boolean;
  currentTime: number;
  duration: number;
  muted: boolean;
  volume: number;
  levels: readonly Level[];
  /** -1: Auto. */
  selected: number;
  currentHeight: number | null;
  /** The browser plays the stream itself: no quality choice. */
  native: boolean;
  engine: EngineName;
  /** A DASH manifest exists (the format choice is offered). */
  dashAvailable: boolean;
  storyboard: readonly StoryboardCue[];
  onToggle(): void;
  onSeek(t: number): void;
  onMute(): void;
  onVolume(v: number): void;
  onQuality(index: number): void;
  onEngine(name: EngineName): void;
  onFullscreen(): void;
}

/** The time under the pointer on a seek bar spanning `rect`. */
export function hoverTime(clientX: number, rect: { left: number; width: number }, duration: number): number {
  if (!(rect.width > 0) || !(duration > 0)) return 0;
  return Math.min(duration, Math.max(0, ((clientX - rect.left) / rect.width) * duration));
}

/** The player's control bar: play/pause, seek bar with storyboard previews, time, mute/volume, quality, format, fullscreen. */
export function Controls(p: ControlsProps) {
  const [hover, setHover] = useState<{ t: number; x: number } | null>(null);
  const onMove = (e: PointerEvent<HTMLInputElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    setHover({ t: hoverTime(e.clientX, rect, p.duration), x: e.clientX - rect.left });
  };
  const cue = hover ? cueAt(p.storyboard, hover.t) : undefined;
  const duration = Number.isFinite(p.duration) && p.duration > 0 ? p.duration : 0;
  return (
    <div className="player-controls">
      <div className="seek">
        <input
          type="range"
          className="seek-bar"
          aria-label="Seek"
          aria-valuetext={`${formatTime(p.currentTime)} of ${formatTime(duration)}`}
          min={0}
          max={duration || 1}
          step={0.1}
          value={Math.min(p.currentTime, duration || 1)}
          disabled={!duration}
          onChange={(e) => p.onSeek(Number(e.target.value))}
          onPointerMove={onMove}
          onPointerLeave={() => setHover(null)}
        />
        {hover ? (
          <div className="storyboard-preview" data-testid="storyboard-preview" style={{ left: `${hover.x}px` }} aria-hidden="true">
            {cue ? (
              <div
                className="storyboard-image"
                data-testid="storyboard-image"
                style={{ width: `${cue.w}px`, height: `${cue.h}px`, backgroundImage: `url("${cue.url}")`, backgroundPosition: `${-cue.x}px ${-cue.y}px` }}
              />
            ) : null}
            <span>{formatTime(hover.t)}</span>
          </div>
        ) : null}
      </div>
      <div className="player-bar">
        <button type="button" onClick={p.onToggle} aria-label={p.paused ? 'Play' : 'Pause'}>
          {p.paused ? '▶' : '❚❚'}
        </button>
        <span className="time" data-testid="time">
          {formatTime(p.currentTime)} / {formatTime(duration)}
        </span>
        <button type="button" onClick={p.onMute} aria-pressed={p.muted}>
          {p.muted ? 'Unmute' : 'Mute'}
        </button>
        <input type="range" className="volume" aria-label="Volume" min={0} max={1} step={0.05} value={p.muted ? 0 : p.volume} onChange={(e) => p.onVolume(Number(e.target.value))} />
        <label>
          Quality{' '}
          <select aria-label="Quality" value={p.selected} onChange={(e) => p.onQuality(Number(e.target.value))} disabled={p.native || p.levels.length === 0}>
            {qualityOptions(p.levels).map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
                {o.value === -1 && p.selected === -1 && p.currentHeight ? ` (${p.currentHeight}p)` : ''}
              </option>
            ))}
          </select>
        </label>
        {p.dashAvailable && !p.native ? (
          <label>
            Format{' '}
            <select aria-label="Streaming format" value={p.engine} onChange={(e) => p.onEngine(e.target.value === 'dash' ? 'dash' : 'hls')}>
              <option value="hls">HLS</option>
              <option value="dash">DASH</option>
            </select>
          </label>
        ) : null}
        <button type="button" onClick={p.onFullscreen}>
          Fullscreen
        </button>
      </div>
      <p className="hint">Keys: k/space play · j/l ±10 s · ←/→ ±5 s · ↑/↓ volume · m mute · f fullscreen · 0–9 jump</p>
    </div>
  );
}
