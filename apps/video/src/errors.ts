import { defineErrors } from '@kinora/http';

/** The video service's coded errors (documented in docs/errors.md). */
export const videoErrors = defineErrors({
  VIDEO_NOT_FOUND: { status: 404, title: 'Video not found' },
  NOT_VIDEO_OWNER: { status: 403, title: 'Not the video owner' },
  CHANNEL_UNAVAILABLE: { status: 503, title: 'Channel directory unavailable' },
  VIDEO_NOT_AWAITING_UPLOAD: { status: 409, title: 'Video does not accept an upload' },
  UPLOAD_METADATA_INVALID: { status: 400, title: 'Invalid upload metadata' },
  UPLOAD_REQUEST_INVALID: { status: 400, title: 'Invalid tus request' },
  TUS_RESUMABLE_REQUIRED: { status: 412, title: 'Tus-Resumable header required' },
  UPLOAD_NOT_FOUND: { status: 404, title: 'Upload not found' },
  UPLOAD_OFFSET_CONFLICT: { status: 409, title: 'Upload offset conflict' },
  UPLOAD_TOO_LARGE: { status: 413, title: 'Upload too large' },
  UPLOAD_EXTENSION_UNSUPPORTED: { status: 501, title: 'tus extension not supported' },
  MEDIA_NOT_FOUND: { status: 404, title: 'Media not found' },
  MEDIA_URL_INVALID: { status: 403, title: 'Invalid media signature' },
  MEDIA_URL_EXPIRED: { status: 403, title: 'Media URL expired' },
  RANGE_NOT_SATISFIABLE: { status: 416, title: 'Range not satisfiable' },
});
