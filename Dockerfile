# Warden on the embedded runtime in a container: non-root, read-only root filesystem (compose.yaml),
# data on the /data volume. TLS terminates at a reverse proxy in front (deploy/Caddyfile).
# Checked by tests/deploy/deploy-kit.test.ts.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production
# Dependencies first (cached layer); only what `npm start` needs.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .
# SyncBoard is built into the image, so nothing under /app is written at run time except the
# function bundles in node_modules/.cache (a tmpfs in compose.yaml).
RUN npm run build && mkdir -p node_modules/.cache /data && chown node:node node_modules/.cache /data

ENV WARDEN_DATA_DIR=/data HOST=0.0.0.0 PORT=3210 SITE_PORT=3211 WARDEN_SKIP_UI_BUILD=1
USER node
VOLUME /data
EXPOSE 3210 3211
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3211/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
# Binding 0.0.0.0 needs WARDEN_BEHIND_TLS_PROXY=1 (set in compose.yaml) or WARDEN_TLS_CERT/KEY.
CMD ["node", "--import", "tsx", "runtime/cli.ts"]
