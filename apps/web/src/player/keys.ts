// The player's keyboard controls, apart from the element so they are unit-tested: a key and the media state give
// what to do. k/space play-pause, j/l ∓10 s, ←/→ ∓5 s, ↑/↓ volume, m mute, f fullscreen, 0–9 jump to 0–90 %.

export type KeyAction =
  | { type: 'toggle' }
  | { type: 'seek'; to: number }
  | { type: 'volume'; to: number }
  | { type: 'mute' }
  | { type: 'fullscreen' };

export interface MediaState {
  currentTime: number;
  duration: number;
  volume: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export function keyAction(key: string, m: MediaState, mods: { ctrl?: boolean; alt?: boolean; meta?: boolean } = {}): KeyAction | null {
  if (mods.ctrl || mods.alt || mods.meta) return null;
  const end = Number.isFinite(m.duration) && m.duration > 0 ? m.duration : Infinity;
  const seek = (by: number): KeyAction => ({ type: 'seek', to: clamp(m.currentTime + by, 0, end) });
  switch (key) {
    case ' ':
    case 'k':
    case 'K':
      return { type: 'toggle' };
    case 'j':
    case 'J':
      return seek(-10);
    case 'l':
    case 'L':
      return seek(10);
    case 'ArrowLeft':
      return seek(-5);
    case 'ArrowRight':
      return seek(5);
    case 'ArrowUp':
      return { type: 'volume', to: Math.round(clamp(m.volume + 0.1, 0, 1) * 100) / 100 };
    case 'ArrowDown':
      return { type: 'volume', to: Math.round(clamp(m.volume - 0.1, 0, 1) * 100) / 100 };
    case 'm':
    case 'M':
      return { type: 'mute' };
    case 'f':
    case 'F':
      return { type: 'fullscreen' };
    default:
      if (/^[0-9]$/.test(key) && end !== Infinity) return { type: 'seek', to: (end * Number(key)) / 10 };
      return null;
  }
}

/** `m:ss` (or `h:mm:ss`) of a time in seconds. */
export function formatTime(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) sec = 0;
  const s = Math.floor(sec);
  const h = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}
