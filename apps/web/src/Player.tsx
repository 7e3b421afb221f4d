import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type HlsType from 'hls.js';
import { qualityOptions, type Level } from './quality.js';

export type { Level };

/**
 * The adaptive player: hls.js where Media Source Extensions exist, the browser's own HLS otherwise (Safari on iOS),
 * with a quality menu (Auto + every rendition) and keyboard controls (k/space play-pause, ←/→ seek 5 s, m mute,
 * f fullscreen). The first rendered frame is marked (`kinora:first-frame`) for the end-to-end figures.
 */
export function Player({ src, poster, title, onPlaying }: { src: string; poster?: string | undefined; title: string; onPlaying?: () => void }) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const hlsRef = useRef<HlsType | null>(null);
  const [levels, setLevels] = useState<Level[]>([]);
  const [selected, setSelected] = useState(-1);
  const [currentHeight, setCurrentHeight] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [native, setNative] = useState(false);

  useEffect(() => {
    const video = videoRef.current!;
    let cancelled = false;
    let hls: HlsType | null = null;
    const markFirstFrame = () => {
      if (!performance.getEntriesByName('kinora:first-frame').length) performance.mark('kinora:first-frame');
      video.dataset['firstFrameMs'] = String(Math.round(performance.now()));
    };
    if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(markFirstFrame);
    else (video as HTMLVideoElement).addEventListener('playing', markFirstFrame, { once: true });
    void (async () => {
      const { default: Hls } = await import('hls.js/light');
      if (cancelled) return;
      if (Hls.isSupported()) {
        hls = new Hls({ capLevelToPlayerSize: false });
        hlsRef.current = hls;
        hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => setLevels(data.levels.map((l, index) => ({ index, height: l.height, bitrate: l.bitrate }))));
        hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => setCurrentHeight(hls?.levels[data.level]?.height ?? null));
        hls.on(Hls.Events.ERROR, (_e, data) => {
          if (!data.fatal) return;
          if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls?.recoverMediaError();
          else setError('The video could not be loaded. Please reload the page to try again.');
        });
        hls.loadSource(src);
        hls.attachMedia(video);
      } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
        setNative(true);
        video.src = src;
      } else {
        setError('This browser cannot play this video.');
      }
      video.play().catch(() => {
        // Autoplay with sound was refused: start muted, the viewer unmutes.
        video.muted = true;
        video.play().catch(() => undefined);
      });
    })();
    return () => {
      cancelled = true;
      hls?.destroy();
      hlsRef.current = null;
    };
  }, [src]);

  const choose = (value: number) => {
    setSelected(value);
    const hls = hlsRef.current;
    // -1 gives the choice back to the bandwidth estimate; a level switches at once (buffer flushed).
    if (hls) hls.currentLevel = value;
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const video = videoRef.current;
    if (!video || (e.target as HTMLElement).tagName === 'SELECT') return;
    switch (e.key) {
      case ' ':
      case 'k':
        e.preventDefault();
        if (video.paused) void video.play();
        else video.pause();
        break;
      case 'ArrowLeft':
        e.preventDefault();
        video.currentTime = Math.max(0, video.currentTime - 5);
        break;
      case 'ArrowRight':
        e.preventDefault();
        video.currentTime = Math.min(video.duration || Infinity, video.currentTime + 5);
        break;
      case 'm':
        video.muted = !video.muted;
        break;
      case 'f':
        if (document.fullscreenElement) void document.exitFullscreen();
        else void video.parentElement?.requestFullscreen().catch(() => undefined);
        break;
    }
  };

  return (
    <div className="player" onKeyDown={onKeyDown} data-current-height={currentHeight ?? ''}>
      <video ref={videoRef} controls playsInline poster={poster} aria-label={`Video: ${title}`} onPlaying={onPlaying} tabIndex={0} />
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="player-bar">
        <label>
          Quality{' '}
          <select aria-label="Quality" value={selected} onChange={(e) => choose(Number(e.target.value))} disabled={native || levels.length === 0}>
            {qualityOptions(levels).map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
                {o.value === -1 && selected === -1 && currentHeight ? ` (${currentHeight}p)` : ''}
              </option>
            ))}
          </select>
        </label>
        <span className="hint">Keys: k play/pause · ←/→ seek · m mute · f fullscreen</span>
      </div>
    </div>
  );
}
