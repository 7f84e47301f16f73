# rnn-serve: two stages on the same base. `build` installs every dependency and compiles `dist/`;
# the runtime stage has production dependencies and `dist/` only, and runs as the non-root `node` user.
#
# A corporate / TLS-intercepting proxy CA is passed as a build secret, used only by the `npm ci` steps and
# never stored in a layer:
#   docker build --secret id=npm_ca,src="$NODE_EXTRA_CA_CERTS" -t rnn-serve .
# Without the secret the same Dockerfile builds against the public registry.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# Lockfile first so the dependency layer is reused while only the sources change. --ignore-scripts: compiling
# needs no install hooks (tsc is plain JavaScript), and `prepare` (the build) cannot run before the sources are
# copied, so it is its own step below.
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=secret,id=npm_ca,required=false \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi; \
    ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force
COPY tsconfig.json tsconfig.build.json ./
COPY schemas/ schemas/
COPY src/ src/
RUN npm run build

FROM node:24-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="rnn-serve" \
      org.opencontainers.image.description="HTTP inference microservice for Keras-style SimpleRNN on batched sequences" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    GRPC_PORT=8081
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: no `prepare` (dist/ comes from the build stage) and no install hooks of production deps.
RUN --mount=type=secret,id=npm_ca,required=false \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force \
    && rm -rf /root/.npm /tmp/*
# The playground's static files are read at start-up from their source folder beside dist/
# (src/http/routes/playground/playground-route.ts).
COPY src/http/routes/playground/public/ src/http/routes/playground/public/
# The model repository (MODELS_DIR=./models): the example model; mount or copy your own over it.
COPY models/ models/
# The .proto files read at run time from beside dist/: the gRPC service's (src/grpc/protos.ts) and Triton's model
# configuration, for config.pbtxt files.
COPY proto/ proto/
COPY --from=build /app/dist/ dist/
# Files stay owned by root: the service only reads them.
USER node
# HTTP (PORT), and the Open Inference Protocol over gRPC (GRPC_PORT; 0 turns it off).
EXPOSE 8080 8081
# Liveness only (GET /healthz); readiness (/readyz) is for the orchestrator. Node's built-in fetch, no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# main.ts closes the server on SIGTERM and exits 0; node runs as PID 1 (no npm/shell in between) to receive it.
# The same command as `npm start` (package.json), Node options included (docs/operations/container.md#node-options).
STOPSIGNAL SIGTERM
CMD ["node", "--use-largepages=silent", "dist/src/main.js"]
