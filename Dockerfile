# syntax=docker/dockerfile:1
# Saqr's images, one target per program:
#   docker build --target operator -t ghcr.io/saqr-dev/saqr-operator:0.1.0 .
#   docker build --target webhook  -t ghcr.io/saqr-dev/saqr-webhook:0.1.0 .
#   docker build --target saqrctl   -t ghcr.io/saqr-dev/saqrctl:0.1.0 .
#
# The build stage compiles with Debian bookworm's -dev packages and runs `make image-rootfs`,
# which copies each program with exactly the shared libraries ldd resolves for it, /etc/passwd
# with the user 65532, and the CA bundle into build/rootfs/<program>/, then proves from that tree
# alone that every library resolves and `<program> --help` runs. The runtime images are those
# trees on `scratch`: no shell, no package manager, nothing the program does not load, and the
# same glibc and libraries as the build (so no ABI drift). The same set as Debian packages, for a
# debian:bookworm-slim base instead: libcurl4 libjansson4 libyaml-0-2 libssl3 libwebsockets17
# ca-certificates.

ARG DEBIAN_IMAGE=debian:bookworm

FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      gcc make libc6-dev pkg-config ca-certificates \
      libcurl4-openssl-dev libjansson-dev libyaml-dev libssl-dev libwebsockets-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY mk/ mk/
COPY hack/ hack/
COPY lib/ lib/
COPY policy/ policy/
COPY drift/ drift/
COPY operator/ operator/
COPY webhook/ webhook/
COPY saqrctl/ saqrctl/
COPY agent/ agent/
COPY fetch/ fetch/
RUN make build && make image-rootfs

FROM scratch AS runtime-base
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.source="https://github.com/saqr-dev/saqr" \
      org.opencontainers.image.url="https://github.com/saqr-dev/saqr" \
      org.opencontainers.image.documentation="https://github.com/saqr-dev/saqr/blob/main/docs/install.md" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="Saqr" \
      org.opencontainers.image.base.name="scratch"
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot

FROM runtime-base AS operator
LABEL org.opencontainers.image.title="saqr-operator" \
      org.opencontainers.image.description="Saqr operator: reconciles ModelDeployment, TrainingJob and DriftPolicy"
COPY --from=build /src/build/rootfs/saqr-operator/ /
ENTRYPOINT ["/usr/local/bin/saqr-operator"]

FROM runtime-base AS webhook
LABEL org.opencontainers.image.title="saqr-webhook" \
      org.opencontainers.image.description="Saqr admission webhook: Zero Trust, UAE data residency and compliance checks"
COPY --from=build /src/build/rootfs/saqr-webhook/ /
ENTRYPOINT ["/usr/local/bin/saqr-webhook"]

FROM runtime-base AS saqrctl
LABEL org.opencontainers.image.title="saqrctl" \
      org.opencontainers.image.description="saqrctl: Saqr's admission policy offline (check, test), drift statistics, model signing, audit evidence"
COPY --from=build /src/build/rootfs/saqrctl/ /
ENTRYPOINT ["/usr/local/bin/saqrctl"]

FROM runtime-base AS agent
LABEL org.opencontainers.image.title="saqr-agent" \
      org.opencontainers.image.description="saqr-agent: TLS proxy and metrics sidecar in front of any model server"
COPY --from=build /src/build/rootfs/saqr-agent/ /
ENTRYPOINT ["/usr/local/bin/saqr-agent"]

FROM runtime-base AS fetch
LABEL org.opencontainers.image.title="saqr-fetch" \
      org.opencontainers.image.description="saqr-fetch: downloads a model and verifies its digest and signature before the server starts"
COPY --from=build /src/build/rootfs/saqr-fetch/ /
ENTRYPOINT ["/usr/local/bin/saqr-fetch"]
