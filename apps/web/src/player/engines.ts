// The streaming engines behind the player: hls.js (light build, the default), dash.js (a setting; its own lazily
// loaded chunk so the watch page's first JavaScript stays small) or the browser's own HLS (Safari on iOS, no MSE).
import type { Level } from '../quality.js';

export type EngineName = 'hls' | 'dash';

export interface EngineEvents {
  levels(levels: Level[]): void;
  /** The height now playing (null when unknown). */
  height(h: number | null): void;
  error(message: string): void;
}

export interface Engine {
  /** Browser-native playback: no quality choice. */
  native: boolean;
  /** -1: automatic; otherwise one of the levels' index. */
  setLevel(index: number): void;
  destroy(): void;
}

const PREF_KEY = 'kinora.player.engine';

export function preferredEngine(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): EngineName {
  try {
    return storage?.getItem(PREF_KEY) === 'dash' ? 'dash' : 'hls';
  } catch {
    return 'hls';
  }
}

export function savePreferredEngine(name: EngineName, storage: Pick<Storage, 'setItem'> | undefined = globalThis.localStorage): void {
  try {
    storage?.setItem(PREF_KEY, name);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

const LOAD_FAILED = 'The video could not be loaded. Please reload the page to try again.';

async function attachHls(video: HTMLVideoElement, src: string, on: EngineEvents): Promise<Engine | null> {
  const { default: Hls } = await import('hls.js/light');
  if (!Hls.isSupported()) return null;
  const hls = new Hls({ capLevelToPlayerSize: false });
  hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => on.levels(data.levels.map((l, index) => ({ index, height: l.height, bitrate: l.bitrate }))));
  hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => on.height(hls.levels[data.level]?.height ?? null));
  hls.on(Hls.Events.ERROR, (_e, data) => {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    else on.error(LOAD_FAILED);
  });
  hls.loadSource(src);
  hls.attachMedia(video);
  return {
    native: false,
    setLevel: (index) => {
      // -1 gives the choice back to the bandwidth estimate; a level switches at once (buffer flushed).
      hls.currentLevel = index;
    },
    destroy: () => hls.destroy(),
  };
}

async function attachDash(video: HTMLVideoElement, src: string, on: EngineEvents): Promise<Engine | null> {
  const dashjs = await import('dashjs');
  if (!dashjs.supportsMediaSource()) return null;
  const player = dashjs.MediaPlayer().create();
  player.updateSettings({ debug: { logLevel: 0 } } as Parameters<typeof player.updateSettings>[0]);
  player.on('streamInitialized', () => {
    const reps = player.getRepresentationsByType('video');
    on.levels(reps.map((r, index) => ({ index, height: r.height, bitrate: r.bandwidth })));
    on.height(player.getCurrentRepresentationForType('video')?.height ?? null);
  });
  player.on('qualityChangeRendered', (e: { mediaType: string; newRepresentation?: { height: number } }) => {
    if (e.mediaType === 'video') on.height(e.newRepresentation?.height ?? null);
  });
  player.on('error', () => on.error(LOAD_FAILED));
  player.initialize(video, src, false);
  return {
    native: false,
    setLevel: (index) => {
      const auto = index < 0;
      player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } } as Parameters<typeof player.updateSettings>[0]);
      if (!auto) player.setRepresentationForTypeByIndex('video', index, true);
    },
    destroy: () => player.destroy(),
  };
}

/** Plays `urls` in `video` with the preferred engine, falling back to hls.js, then to native HLS. */
export async function attachEngine(name: EngineName, video: HTMLVideoElement, urls: { hls: string; dash?: string | undefined }, on: EngineEvents): Promise<Engine | null> {
  if (name === 'dash' && urls.dash) {
    const dash = await attachDash(video, urls.dash, on);
    if (dash) return dash;
  }
  const hls = await attachHls(video, urls.hls, on);
  if (hls) return hls;
  if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = urls.hls;
    return { native: true, setLevel: () => undefined, destroy: () => video.removeAttribute('src') };
  }
  on.error('This browser cannot play this video.');
  return null;
}
