// The player's quality menu, apart from the player so it is unit-tested without a browser.

export interface Level {
  /** hls.js level index. */
  index: number;
  height: number;
  bitrate: number;
}

/** The quality menu's entries: Auto first, then every rendition from the highest down. */
export function qualityOptions(levels: readonly Level[]): Array<{ value: number; label: string }> {
  return [{ value: -1, label: 'Auto' }, ...[...levels].sort((a, b) => b.height - a.height || b.bitrate - a.bitrate).map((l) => ({ value: l.index, label: `${l.height}p` }))];
}
