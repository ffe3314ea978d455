# syntax=docker/dockerfile:1
# One image for the three services; the container's command (or $SERVICE) picks one:
#   docker build -t rewards .
#   docker run -e SERVICE=auth -e INTERNAL_SECRET=… rewards      # or: docker run … rewards auth
# See docker-compose.yml for a complete set-up.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: install everything, compile, then reinstall production dependencies only ----
FROM ${NODE_IMAGE} AS build
ARG PNPM_VERSION=12.21.0
RUN npm install -g "pnpm@${PNPM_VERSION}" && pnpm --version
# CI=true: no prompts. pmOnFail=ignore: use this pnpm as is (no version switch or pin lookup).
ENV CI=true \
    PNPM_CONFIG_PM_ON_FAIL=ignore
WORKDIR /app

# Dependencies first, so this layer is reused while only sources change.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch

COPY . .
RUN pnpm install --frozen-lockfile --offline \
 && pnpm build \
 && rm -rf node_modules apps/*/node_modules packages/*/node_modules \
 && pnpm install --frozen-lockfile --prod --prefer-offline

# Only what runs: manifests, compiled output, SQL migrations (read at run time from
# apps/<service>/migrations, next to dist/) and the production node_modules. The workspace
# layout is kept, since the workspace packages are linked by relative symlinks.
RUN set -eux; \
    mkdir -p /out; \
    cp -a package.json node_modules docker /out/; \
    for p in packages/contracts packages/infrastructure apps/auth apps/event apps/gateway; do \
      mkdir -p "/out/$p"; \
      cp -a "$p/package.json" "$p/dist" "/out/$p/"; \
      if [ -d "$p/node_modules" ]; then cp -a "$p/node_modules" "/out/$p/"; fi; \
      if [ -d "$p/migrations" ]; then cp -a "$p/migrations" "/out/$p/"; fi; \
    done; \
    mkdir -p /out/apps/console && cp -a apps/console/dist /out/apps/console/; \
    find /out -path '*/dist/*' \( -name '*.d.ts' -o -name '*.d.ts.map' -o -name '*.tsbuildinfo' \) -delete; \
    rm -rf /out/docker/postgres; \
    chmod 0755 /out/docker/entrypoint.sh

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app
# Application files stay owned by root (read-only for the service). The services keep nothing on
# disk: they run against the PostgreSQL server named by AUTH_DATABASE_URL / EVENT_DATABASE_URL. The
# embedded server's binaries are a dependency of the start script only, not of the image.
COPY --from=build /out /app
USER node
EXPOSE 3000 3001 3002
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/docker/healthcheck.mjs"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD []
