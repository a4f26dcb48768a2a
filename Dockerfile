# syntax=docker/dockerfile:1
# Two targets (docs: README "Run in Docker"):
#   docker build --target gateway -t tether-gateway .   # slim Node 20, the gateway's production dependencies only
#   docker build --target trainer -t tether-trainer .   # CUDA + cuDNN + tfjs-node-gpu; entrypoint tether-train
# test/docker.test.ts runs the gateway stage's install and start commands outside Docker and checks every
# path COPY names exists and is not excluded by .dockerignore.

# ---------------------------------------------------------------------------------------------------------
# gateway: Node + onnxruntime-node (CPU). No TensorFlow.js: `npm ci -w @tether/gateway --omit=dev` installs
# only the gateway workspace's dependency tree (the lockfile needs every workspace's package.json).
FROM node:20-bookworm-slim AS gateway
ENV NODE_ENV=production ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY patches ./patches
COPY packages/shared/package.json packages/shared/
COPY packages/db/package.json packages/db/
COPY packages/checkpoint/package.json packages/checkpoint/
COPY apps/gateway/package.json apps/gateway/
COPY apps/trainer/package.json apps/trainer/
# --ignore-scripts: the root postinstall (patch-package) is a dev tool; the postgres.js fix is applied here.
RUN npm ci --omit=dev -w @tether/gateway --ignore-scripts --prefer-offline --no-audit --no-fund \
 && npx --yes --prefer-offline patch-package@8.0.1 --error-on-fail \
 && npm cache clean --force
COPY packages/shared/src packages/shared/src
COPY packages/db/src packages/db/src
COPY packages/checkpoint/src packages/checkpoint/src
COPY apps/gateway/src apps/gateway/src
COPY apps/gateway/scripts apps/gateway/scripts
COPY migrations migrations
COPY models/demo models/demo
# the bundle `npm start` runs (its prestart step): plain JavaScript, no tsx loader in any of its threads
RUN node apps/gateway/scripts/build.mjs
RUN mkdir -p /data && chown node:node /data
USER node
ENV HOST=0.0.0.0 PORT=8787 TETHER_DATA_DIR=/data
VOLUME /data
EXPOSE 8787
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8787)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form with node itself as PID 1, so SIGTERM reaches the server: it stops accepting, drains in-flight
# requests and flushes the drift log (`npm start` would exit at once and orphan the server; tsx's CLI
# SIGKILLs a child that does not exit within 30 ms). `docker stop -t 330` covers limits.request_timeout_s.
STOPSIGNAL SIGTERM
CMD ["node", "apps/gateway/dist/node/server.node.js"]

# ---------------------------------------------------------------------------------------------------------
# trainer: tfjs-node-gpu 4.22 downloads libtensorflow 2.9.1 (built with CUDA 11.2 / cuDNN 8.1). CUDA 11.8 +
# cuDNN 8 serves it (same sonames: libcudart.so.11.0, libcublas.so.11, libcudnn.so.8; cuDNN 8 is backward
# compatible within 8.x) and is the oldest 11.x runtime image still published. Needs network at build time.
FROM node:20-bookworm-slim AS node
FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 AS trainer
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
ENV ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY patches ./patches
COPY packages/shared/package.json packages/shared/
COPY packages/db/package.json packages/db/
COPY packages/checkpoint/package.json packages/checkpoint/
COPY apps/gateway/package.json apps/gateway/
COPY apps/trainer/package.json apps/trainer/
# tfjs-node-gpu is optional: npm would drop it silently when its install script fails, so run that script
# explicitly and fail the build when the native binding is not there.
RUN npm ci --no-audit --no-fund \
 && npm rebuild @tensorflow/tfjs-node-gpu --foreground-scripts \
 && test -n "$(find node_modules/@tensorflow/tfjs-node-gpu/lib -name tfjs_binding.node)" \
 && npm cache clean --force
COPY packages packages
COPY apps/trainer apps/trainer
COPY migrations migrations
RUN printf '#!/bin/sh\nexec node --import tsx /app/apps/trainer/src/cli.ts "$@"\n' > /usr/local/bin/tether-train \
 && chmod +x /usr/local/bin/tether-train
# The backend check (apps/trainer/src/backend.ts) refuses to start when tfjs-node-gpu does not load
# (no GPU runtime: run with --gpus all); TETHER_ALLOW_CPU=1 accepts the CPU fallback.
ENV TETHER_REQUIRE_GPU=1
ENTRYPOINT ["tether-train"]
CMD ["--help"]
