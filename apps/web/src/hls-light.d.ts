// hls.js publishes its light build (no subtitles, alternate audio, DRM or CMCD: none of which Kinora serves) without
// a declaration file of its own; it has the full build's API.
declare module 'hls.js/light' {
  export { default } from 'hls.js';
}
