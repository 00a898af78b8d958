# syntax=docker/dockerfile:1
# The rigsnap worker. Build: `docker build -t rigsnap-worker .`; run: see docker-compose.yml.
# Both stages use the same pinned Node 20 image (Debian bookworm, glibc: the Temporal SDK's native
# core-bridge ships prebuilt glibc binaries for x64 and arm64).

FROM node:20.19.5-bookworm-slim AS build
WORKDIR /app
# Sources and build configuration (.dockerignore keeps node_modules, dist, state and secrets out).
COPY . .
# `npm ci` runs the `prepare` script: tsc to dist/ and the prebuilt workflow bundle dist/workflow-bundle.js.
RUN npm ci --no-audit --no-fund

FROM node:20.19.5-bookworm-slim AS runtime
ENV NODE_ENV=production RIGSNAP_METRICS_HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, and no install scripts (nothing to build: the SDK's native part is prebuilt).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The image's unprivileged user (uid 1000); the worker writes nothing to disk.
USER node
# Prometheus metrics of the SDK runtime (RIGSNAP_METRICS_PORT).
EXPOSE 9464
# SIGTERM (docker stop) drains the worker for RIGSNAP_SHUTDOWN_GRACE_MS; give the container longer
# than that to stop (compose: stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["node", "dist/worker/main.js"]
