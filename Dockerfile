# syntax=docker/dockerfile:1
#
# One image for every Tributary data product: the product is chosen by configuration
# (TRIBUTARY_PRODUCTS=/app/products/<name>) or by an argument (`docker run … tributary run
# products/user-profiles`). TypeScript runs through tsx, a runtime dependency, so there is no
# compile step: the image holds the sources as they are in the repository.
#
#   docker build -t tributary .
#   docker run --rm -p 8080:8080 -e TRIBUTARY_PRODUCTS=/app/products/user-profiles tributary   # serve
#   docker run --rm tributary validate                                                          # any command

ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies. The compiler toolchain is only here, for a native module (lmdb, DuckDB)
# without a prebuilt binary for the target platform; the runtime image never carries it.
FROM ${NODE_IMAGE} AS deps
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install` (still pinned by the lock) rather than `npm ci`: the lock is written on a machine
# whose registry has only the linux-x64 builds of the optional native packages, and `npm ci`
# refuses a lock without the other platforms' entries.
RUN --mount=type=cache,target=/root/.npm npm install --omit=dev --no-audit --no-fund

# The checks `npm test` starts with (type check, generated record types up to date), so that a
# broken tree never becomes an image. Dev dependencies live and die in this stage.
FROM ${NODE_IMAGE} AS check
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm install --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.json \
 && node runtime/cli/bin.js codegen --check \
 && touch /tmp/checked

FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="tributary" \
      org.opencontainers.image.description="Data products: streams in, a versioned lake out" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    TRIBUTARY_DATA_DIR=/var/lib/tributary
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# Only to make this stage wait for the checks; BuildKit skips stages nothing depends on.
COPY --from=check /tmp/checked /tmp/checked
# Code stays owned by root: the process can read it, not change it.
COPY . .
RUN mkdir -p /var/lib/tributary && chown node:node /var/lib/tributary
# The base image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
VOLUME ["/var/lib/tributary"]
# The management port (TRIBUTARY_HTTP_PORT, default 8080), and the probe port: /healthz and
# /readyz answered by a worker thread, fast however busy the products keep the main thread.
ENV TRIBUTARY_HTTP_PROBE_PORT=8079
EXPOSE 8080 8079
# Liveness from the probe port (`serve`): GET /healthz on TRIBUTARY_HTTP_PROBE_PORT; it fails once the
# main thread has stalled for http.livenessStallMs. Readiness (consumers joined, stores and tables
# open, no product stopped) is GET /readyz there, for orchestrators that probe it.
# hadolint ignore=DL3025
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.TRIBUTARY_HTTP_PROBE_PORT||process.env.TRIBUTARY_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Node as PID 1 gets SIGTERM: `serve` stops fetching, finishes the batch, commits, flushes pending
# snapshots and exits 0 within shutdownDeadlineMs (compose: init: true also reaps stray children).
ENTRYPOINT ["node", "runtime/cli/bin.js"]
CMD ["serve"]
