const BY_EXTENSION: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  mpd: 'application/dash+xml',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  m4a: 'audio/mp4',
  ts: 'video/mp2t',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  vtt: 'text/vtt',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  xml: 'application/xml',
};

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** Content type for a key from its extension (`.m3u8`, `.m4s`, `.mpd`, `.jpg`, `.vtt`, …); octet-stream otherwise. */
export function contentTypeFromKey(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return DEFAULT_CONTENT_TYPE;
  return BY_EXTENSION[name.slice(dot + 1).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}
