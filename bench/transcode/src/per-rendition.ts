import type { Ladder } from '@kinora/media';

/**
 * The ladder split into one single-rung ladder per rendition: what "one ffmpeg run per rendition" encodes. Each
 * audio rendition is encoded by exactly one run (the first rung that plays it), so both approaches write the same
 * streams with the same encoder settings; the only difference is how often the source is decoded and filtered.
 */
export function splitLadder(ladder: Ladder): Ladder[] {
  const audioDone = new Set<string>();
  return ladder.video.map((rung) => {
    const ownsAudio = rung.audio !== null && !audioDone.has(rung.audio);
    if (ownsAudio) audioDone.add(rung.audio!);
    return {
      ...ladder,
      video: [{ ...rung, audio: ownsAudio ? rung.audio : null }],
      audio: ownsAudio ? ladder.audio.filter((a) => a.name === rung.audio) : [],
    };
  });
}
