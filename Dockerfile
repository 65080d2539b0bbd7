# One image for every hub of a deployment (docker-compose.yml starts three from it): dependencies installed and the
# console built once, at build time, never by a hub at start.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 DATA_DIR=/data

# The manifests first, so a change to the code does not reinstall the dependencies.
COPY package.json package-lock.json ./
COPY .ci/normalize-lock.mjs .ci/normalize-lock.mjs
COPY schema/package.json schema/
COPY platform/package.json platform/
COPY replica/package.json replica/
COPY hub/package.json hub/
COPY edge-agent/package.json edge-agent/
COPY console/package.json console/
COPY deploy/package.json deploy/
COPY loadtest/package.json loadtest/
COPY demo/package.json demo/
RUN node .ci/normalize-lock.mjs && npm ci --no-audit --no-fund --include=dev

COPY . .
RUN npx tsx console/scripts/ensure-build.ts && mkdir -p /data

EXPOSE 8080
# /healthz answers 503 while the bus is down or the hub drains after SIGTERM (HUB_DRAIN_SECONDS).
HEALTHCHECK --interval=5s --timeout=3s --start-period=90s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["npx", "tsx", "hub/src/main.ts"]
