# syntax=docker/dockerfile:1
# Two targets: `gateway` (Node + onnxruntime-node, CPU) and `trainer` (TensorFlow.js; GPU via tfjs-node-gpu).
#   docker build --target gateway -t tether-gateway .
#   docker build --target trainer -t tether-trainer .

FROM node:20-bookworm-slim AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
# npm ci's postinstall applies patches/ (patch-package): postgres.js's null-socket crash fix
COPY patches ./patches
COPY packages/shared/package.json packages/shared/
COPY packages/db/package.json packages/db/
COPY packages/checkpoint/package.json packages/checkpoint/
COPY apps/gateway/package.json apps/gateway/
COPY apps/trainer/package.json apps/trainer/
RUN npm ci --no-audit --no-fund

FROM deps AS gateway
COPY . .
ENV HOST=0.0.0.0 PORT=8787 TETHER_DATA_DIR=/data
VOLUME /data
EXPOSE 8787
# Exec form with node itself as PID 1: `npm start` or the tsx CLI would not pass SIGTERM on (npm exits at
# once and orphans the server; tsx SIGKILLs a child that does not answer within 30 ms), so no drain/flush.
CMD ["node", "--import", "tsx", "apps/gateway/src/server.node.ts"]

# GPU trainer: CUDA 11.8 + cuDNN 8 is what tfjs-node-gpu 4.x binds to. Its install script downloads
# libtensorflow, so this target must have network at build time and must fail loudly if the binding is absent.
FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 AS trainer
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
COPY --from=deps /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
WORKDIR /app
COPY --from=deps /app /app
COPY . .
CMD ["npm", "run", "train", "--", "--help"]
