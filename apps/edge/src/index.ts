export { loadEdgeConfig, loadEdgeConfigOrExit, parseDuration, parseRate, parseSize, parseUpstreams } from './config.js';
export type { ConfigIo, EdgeConfig, LimitStatus, RateLimit, TlsConfig, UpstreamAddress } from './config.js';
export { normalizeCidr, parseRegionFile, RegionFileError, type RegionRange } from './regions.js';
export { formatDuration, formatSize, GZIP_TYPES, PLAYLIST_EXTENSIONS, renderNginxConf, runPaths, SEGMENT_EXTENSIONS, STICKY_PARAM, type RunPaths } from './render.js';
export { checkNginxConf, EdgeStartError, startEdge, writeRunFolder, type EdgeProcess, type StartEdgeOptions } from './launcher.js';
