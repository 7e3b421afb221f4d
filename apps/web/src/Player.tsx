import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { Controls } from './player/Controls.js';
import { attachEngine, preferredEngine, savePreferredEngine, type Engine, type EngineName } from './player/engines.js';
import { keyAction } from './player/keys.js';
import { parseStoryboard, type StoryboardCue } from './player/storyboard.js';
import type { Level } from './quality.js';

export type { Level };

/**
 * The adaptive player: hls.js where Media Source Extensions exist (dash.js when chosen in the Format menu), the
 * browser's own HLS otherwise (Safari on iOS); its own controls with a quality menu (Auto + every rendition),
 * storyboard previews on the seek bar and keyboard controls (see player/keys.ts). The first rendered frame is
 * marked (`kinora:first-frame`) for the end-to-end figures.
 */
export function Player({
  src,
  dash,
  storyboard,
  poster,
  title,
  onPlaying,
  onSettled,
}: {
  src: string;
  dash?: string | undefined;
  storyboard?: string | undefined;
  poster?: string | undefined;
  title: string;
  onPlaying?: () => void;
  /** Once: the first frame is on screen, or playback could not start (autoplay refused, no engine, load error). */
  onSettled?: () => void;
}) {
  const rootRef = useRef<HTMLDivElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const engineRef = useRef<Engine | null>(null);
  const settledRef = useRef(onSettled);
  settledRef.current = onSettled;
  const [engineName, setEngineName] = useState<EngineName>(() => preferredEngine());
  const [levels, setLevels] = useState<Level[]>([]);
  const [selected, setSelected] = useState(-1);
  const [currentHeight, setCurrentHeight] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [native, setNative] = useState(false);
  const [media, setMedia] = useState({ paused: true, currentTime: 0, duration: 0, muted: false, volume: 1 });
  const [cues, setCues] = useState<StoryboardCue[]>([]);

  useEffect(() => {
    const video = videoRef.current!;
    let cancelled = false;
    let engine: Engine | null = null;
    setLevels([]);
    setSelected(-1);
    setCurrentHeight(null);
    setError(null);
    const markFirstFrame = () => {
      if (!performance.getEntriesByName('kinora:first-frame').length) performance.mark('kinora:first-frame');
      if (video.dataset['firstFrameMs']) return;
      video.dataset['firstFrameMs'] = String(Math.round(performance.now()));
      settledRef.current?.();
    };
    if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(markFirstFrame);
    else video.addEventListener('playing', markFirstFrame, { once: true });
    void (async () => {
      const on = {
        levels: (l: Level[]) => !cancelled && setLevels(l),
        height: (h: number | null) => !cancelled && setCurrentHeight(h),
        error: (m: string) => {
          if (cancelled) return;
          setError(m);
          settledRef.current?.();
        },
      };
      engine = await attachEngine(engineName, video, { hls: src, dash }, on);
      if (cancelled) return engine?.destroy();
      engineRef.current = engine;
      setNative(engine?.native ?? false);
      if (!engine) return;
      video.play().catch((err: unknown) => {
        // Autoplay with sound was refused: start muted, the viewer unmutes. (An AbortError is a pause or a new
        // source before playback began: the viewer's choice, not a reason to play again.)
        if ((err as Error | undefined)?.name !== 'NotAllowedError') return;
        video.muted = true;
        // Refused even muted: the viewer starts it; the page need not wait for a first frame.
        video.play().catch(() => settledRef.current?.());
      });
    })();
    return () => {
      cancelled = true;
      engine?.destroy();
      engineRef.current = null;
    };
  }, [src, dash, engineName]);

  useEffect(() => {
    setCues([]);
    if (!storyboard) return;
    const ctl = new AbortController();
    fetch(storyboard, { signal: ctl.signal })
      .then((r) => (r.ok ? r.text() : ''))
      .then((text) => setCues(parseStoryboard(text, storyboard)))
      // Previews are an extra: without them the seek bar shows the time only.
      .catch(() => undefined);
    return () => ctl.abort();
  }, [storyboard]);

  const sync = () => {
    const v = videoRef.current;
    if (v) setMedia({ paused: v.paused, currentTime: v.currentTime, duration: v.duration || 0, muted: v.muted, volume: v.volume });
  };

  const video = () => videoRef.current;
  const toggle = () => {
    const v = video();
    if (!v) return;
    if (v.paused) void v.play().catch(() => undefined);
    else v.pause();
  };
  const seek = (t: number) => {
    const v = video();
    if (v) v.currentTime = t;
  };
  const fullscreen = () => {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    else void rootRef.current?.requestFullscreen?.().catch(() => undefined);
  };
  const choose = (value: number) => {
    setSelected(value);
    engineRef.current?.setLevel(value);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const v = video();
    const tag = (e.target as HTMLElement).tagName;
    if (!v || tag === 'SELECT' || tag === 'INPUT' || tag === 'BUTTON' || tag === 'TEXTAREA') return;
    const a = keyAction(e.key, { currentTime: v.currentTime, duration: v.duration, volume: v.volume }, { ctrl: e.ctrlKey, alt: e.altKey, meta: e.metaKey });
    if (!a) return;
    e.preventDefault();
    if (a.type === 'toggle') toggle();
    else if (a.type === 'seek') seek(a.to);
    else if (a.type === 'volume') {
      v.volume = a.to;
      v.muted = a.to === 0;
    } else if (a.type === 'mute') v.muted = !v.muted;
    else fullscreen();
  };

  return (
    <div className="player" ref={rootRef} onKeyDown={onKeyDown} data-current-height={currentHeight ?? ''} data-engine={native ? 'native' : engineName}>
      <video
        ref={videoRef}
        playsInline
        poster={poster}
        aria-label={`Video: ${title}`}
        tabIndex={0}
        onClick={toggle}
        onPlaying={() => {
          sync();
          onPlaying?.();
        }}
        onPause={sync}
        onPlay={sync}
        onTimeUpdate={sync}
        onDurationChange={sync}
        onVolumeChange={sync}
        onSeeked={sync}
        onLoadedMetadata={sync}
      />
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <Controls
        {...media}
        levels={levels}
        selected={selected}
        currentHeight={currentHeight}
        native={native}
        engine={engineName}
        dashAvailable={Boolean(dash)}
        storyboard={cues}
        onToggle={toggle}
        onSeek={seek}
        onMute={() => {
          const v = video();
          if (v) v.muted = !v.muted;
        }}
        onVolume={(x) => {
          const v = video();
          if (!v) return;
          v.volume = x;
          v.muted = x === 0;
        }}
        onQuality={choose}
        onEngine={(name) => {
          savePreferredEngine(name);
          setEngineName(name);
        }}
        onFullscreen={fullscreen}
      />
    </div>
  );
}
