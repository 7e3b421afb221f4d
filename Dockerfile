# Kinora's container images: `kinora` (every service, `node apps/<service>/dist/main.js`) and `kinora-transcoder`
# (the same content on a base that adds ffmpeg). Why one image: docs/adr/0005-one-image-many-entries.md. How they
# are built, and why this way: docs/deploy.md ("Container images").
#
# Build with `npm run images` (scripts/images.mjs). It compiles the TypeScript on the host (`tsc -b`), makes the two
# bases without a registry (`podman import` of a root filesystem: the Node 22 binary and the libraries it links, a
# CA bundle, /etc/passwd with the user kinora 1000:1000, a sticky /tmp; the transcoder's also holds Debian's ffmpeg
# and ffprobe with their libraries: no shell, no package manager, no npm in either), stages the production
# node_modules (`npm ci --omit=dev`, pruned) as the `deps` build context, and runs
#   podman build --network none --pull=never --target kinora|kinora-transcoder --build-context deps=<staged> \
#     --build-arg NODE_BASE=… --build-arg FFMPEG_BASE=… --build-arg VERSION=… --build-arg REVISION=… --build-arg CREATED=… .
# The context is the repository; .dockerignore lets in only each workspace's package.json, built output (without
# type declarations and source maps) and SQL migrations. Nothing in the build reaches a network. podman 4.3 reuses a
# cached step when only a build argument changed, so the script sets version, revision and created once more (and
# io.kinora.build.inputs) in a one-step build on top; other builders (BuildKit) take them from the ARGs below.

ARG NODE_BASE=kinora-base:required
ARG FFMPEG_BASE=kinora-base-ffmpeg:required

# --- assemble: the production tree, checked. Only its result reaches the images (in separate layers: the rarely
# changing node_modules below, the code above), never the build-time checker.
FROM ${NODE_BASE} AS assemble
COPY --from=deps / /app/
COPY LICENSE /app/LICENSE
COPY apps/ /app/apps/
COPY libs/ /app/libs/
COPY operators/ /app/operators/
COPY images/verify.mjs /verify.mjs
RUN ["node", "/verify.mjs", "/app"]

# --- kinora: every service.
FROM ${NODE_BASE} AS kinora
ENV NODE_ENV=production \
    PATH=/usr/local/bin:/usr/bin \
    HOME=/tmp \
    KINORA_DATA_DIR=/tmp/kinora
WORKDIR /app
COPY --from=assemble /app/node_modules/ /app/node_modules/
COPY --from=assemble /app/apps/ /app/apps/
COPY --from=assemble /app/libs/ /app/libs/
COPY --from=assemble /app/operators/ /app/operators/
COPY --from=assemble /app/package.json /app/package-lock.json /app/LICENSE /app/
# Numeric, so that Kubernetes' runAsNonRoot can check it; the same ids as the chart's podSecurityContext. The root
# filesystem may be mounted read-only: only /tmp (HOME, KINORA_DATA_DIR) is written, an emptyDir in the chart.
USER 1000:1000
EXPOSE 8080
# The chart's `command` replaces both; `podman run <image> apps/<service>/dist/main.js` replaces only CMD.
ENTRYPOINT ["node"]
CMD ["apps/gateway/dist/main.js"]
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG NODE_BASE
LABEL org.opencontainers.image.title="kinora" \
      org.opencontainers.image.description="Kinora, a Kubernetes-native video platform: every service of one release, run as node apps/<service>/dist/main.js" \
      org.opencontainers.image.source="https://github.com/kinora/kinora" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${NODE_BASE}"

# --- kinora-transcoder: the same content and settings on the base with ffmpeg (the only service that runs it).
FROM ${FFMPEG_BASE} AS kinora-transcoder
ENV NODE_ENV=production \
    PATH=/usr/local/bin:/usr/bin \
    HOME=/tmp \
    KINORA_DATA_DIR=/tmp/kinora
WORKDIR /app
COPY --from=assemble /app/node_modules/ /app/node_modules/
COPY --from=assemble /app/apps/ /app/apps/
COPY --from=assemble /app/libs/ /app/libs/
COPY --from=assemble /app/operators/ /app/operators/
COPY --from=assemble /app/package.json /app/package-lock.json /app/LICENSE /app/
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["node"]
CMD ["apps/transcoder/dist/main.js"]
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG FFMPEG_BASE
LABEL org.opencontainers.image.title="kinora-transcoder" \
      org.opencontainers.image.description="Kinora's transcoder: the kinora image's content with ffmpeg, run as node apps/transcoder/dist/main.js" \
      org.opencontainers.image.source="https://github.com/kinora/kinora" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${FFMPEG_BASE}"
