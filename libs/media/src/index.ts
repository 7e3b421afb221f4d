export { type MediaLogger, noopLogger } from './logger.js';
export {
  type InvalidMediaCode,
  InvalidMediaError,
  FfmpegError,
  FfmpegNotFoundError,
  FfmpegAbortError,
} from './media.errors.js';
export {
  type FfmpegProgress,
  type FfmpegRunOptions,
  type FfmpegRunResult,
  type ToolRunOptions,
  ProgressParser,
  runFfmpeg,
} from './ffmpeg.runner.js';
export {
  type Rational,
  type ProbeResult,
  type ProbeStream,
  type ProbeVideoStream,
  type ProbeAudioStream,
  type ProbeOtherStream,
  type ProbeOptions,
  probe,
  parseProbeJson,
} from './probe.js';
export { type MediaSource, type ValidationLimits, validateProbe } from './probe.validator.js';
export {
  type BitrateRow,
  type Ladder,
  type LadderSource,
  type VideoRendition,
  type AudioRendition,
  LADDER_RUNGS,
  BITRATE_TABLE,
  HIGH_FRAME_RATE_FACTOR,
  AUDIO_KBPS,
  MAX_FRAME_RATE,
  GOP_SEC,
  buildLadder,
  chooseFrameRate,
  formatRational,
} from './ladder.builder.js';
export {
  type X264Preset,
  type PosterOptions,
  type StoryboardOptions,
  type TranscodeArgsOptions,
  type TranscodePlan,
  type OutputLayout,
  type StoryboardLayout,
  X264_PRESETS,
  buildTranscodeArgs,
  buildOutputLayout,
  hlsOutputArgs,
  videoEncoderArgs,
  audioEndSec,
  audioFilter,
  AAC_FRAME_SAMPLES,
  planPoster,
  buildSpriteArgs,
  planStoryboard,
  storyboardGrid,
} from './transcode-args.builder.js';
export {
  type MediaPlaylist,
  type MasterPlaylist,
  type MasterVariantInput,
  type MasterAudioInput,
  PlaylistParseError,
  parseMediaPlaylist,
  parseMasterPlaylist,
  parseAttributes,
  buildMasterPlaylist,
  AUDIO_GROUP_ID,
} from './hls.builder.js';
export {
  type MpdInput,
  type DashSegment,
  type DashRepresentationInput,
  type DashVideoRepresentation,
  type DashAudioRepresentation,
  MPD_TIMESCALE,
  buildMpd,
  segmentTimeline,
  numberTemplate,
  isoDuration,
} from './dash.builder.js';
export { type StoryboardVttInput, buildStoryboardVtt, vttTime } from './storyboard.builder.js';
export { codecStrings } from './mp4.codecs.js';
export {
  type TranscodeOptions,
  type TranscodeProgress,
  type TranscodeManifest,
  type RenditionManifest,
  type AudioManifest,
  type OutputFile,
  transcode,
  segmentBitrates,
  mediaContentType,
} from './transcode.js';
export {
  type FfmpegLocation,
  type LocateOptions,
  FFMPEG_INSTALL_HINT,
  FfmpegUnavailableError,
  locateFfmpeg,
} from './ffmpeg.locator.js';
export {
  type ChunkPlanInput,
  type ChunkSpec,
  planChunks,
  firstFrameAtOrAfter,
  parseKeyframePackets,
} from './chunk.planner.js';
export {
  type ChunkedPlan,
  CHUNK_VIDEO_FILE,
  buildChunkArgs,
  buildAudioArgs,
  buildConcatList,
  buildJoinArgs,
} from './chunk-args.builder.js';
export {
  type PlanChunkedOptions,
  type EncodeChunkOptions,
  type EncodeAudioOptions,
  type JoinChunksOptions,
  type ChunkResult,
  ChunkIndexError,
  ChunkOutputError,
  checkChunkIndex,
  probeKeyframes,
  planChunkedTranscode,
  encodeChunk,
  encodeAudio,
  joinChunks,
} from './chunked.js';
