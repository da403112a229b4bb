# seedcast in a container: `docker build -t seedcast .` (or podman), then
#
#   docker run -p 8080:8080 -p 6881:6881 -p 6881:6881/udp -p 3478:3478/udp \
#     -v seedcast-data:/data -v "$PWD/films:/films:ro" \
#     -e SEEDCAST_PUBLIC_URL=http://films.example.org:8080 seedcast serve /films
#
# docker-compose.yml beside this file runs a public node with automatic
# HTTPS. The build runs the Makefile's steps, as CI does: `make web` in a
# Node stage, `make bin` in a Go stage. The base images are arguments so
# that a build without a registry can name local ones.
ARG NODE_IMAGE=docker.io/library/node:22-bookworm
ARG GO_IMAGE=docker.io/library/golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# The pages' bundle: npm packages as the lockfile pins them, install scripts
# off (web/.npmrc says why), then tsc and esbuild.
FROM ${NODE_IMAGE} AS web
WORKDIR /src
COPY Makefile ./
COPY web/package.json web/package-lock.json web/.npmrc web/
RUN make web/node_modules/.installed
COPY web/ web/
RUN make web

# The binary, with the bundle embedded. cgo stays on, as in `make build`:
# uTP comes from libutp, so the runtime needs glibc and libstdc++.
FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/web/dist/ web/dist/
RUN make bin && mkdir -p /out/data && cp bin/seedcast /out/

# The runtime: glibc, libstdc++ and CA certificates, no shell, not root.
FROM ${RUNTIME_IMAGE}
COPY --from=build /out/seedcast /usr/local/bin/seedcast
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# Inside a container the node listens on every address; --public-url (or
# SEEDCAST_PUBLIC_URL) tells viewers where to reach it from outside, and
# --nat-ip the public IP browsers' WebRTC should use.
ENV SEEDCAST_ADDR=0.0.0.0:8080 \
    SEEDCAST_DATA=/data \
    SEEDCAST_BT_PORT=6881 \
    SEEDCAST_WEBRTC_PORT=3478
VOLUME /data
# HTTP (8080; 8443 for HTTPS and 8080 for its redirect with ACME), BitTorrent
# over TCP and uTP, and WebRTC's one UDP port.
EXPOSE 8080/tcp 8443/tcp 6881/tcp 6881/udp 3478/udp
# The image has no curl: seedcast asks its own /healthz. A node hashes what
# it seeds before it is healthy, which takes minutes for a large film.
HEALTHCHECK --interval=30s --timeout=10s --start-period=10m --retries=3 CMD ["seedcast", "healthcheck"]
ENTRYPOINT ["seedcast"]
CMD ["serve"]
