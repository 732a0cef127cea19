# attribution-node, injected: the binary is built on the host (scripts/lib.sh build_node) and only
# copied in, onto the Debian base that scripts/docker makes with debootstrap (the node links only
# glibc and libgcc_s, both in it). No compiler runs here and no RUN step needs a network.
# Built by scripts/docker; by hand: put attribution-node in DIR, then
#   docker build -f docker/node.Dockerfile -t attribution-node DIR
ARG BASE=attribution-base:bookworm
FROM ${BASE}
ARG REVISION=unknown
ARG PROFILE=unknown
LABEL attribution-chain.image=node \
      org.opencontainers.image.title=attribution-node \
      org.opencontainers.image.revision=${REVISION} \
      attribution-chain.profile=${PROFILE}
COPY attribution-node /usr/local/bin/attribution-node
USER attribution
WORKDIR /home/attribution
# p2p, RPC, Prometheus
EXPOSE 30333 9944 9615
VOLUME ["/home/attribution/data"]
ENTRYPOINT ["/usr/local/bin/attribution-node"]
# A dev chain whose RPC listens on the container's loopback only: docker/compose.yml runs it on
# the host network, where that loopback is the host's.
CMD ["--dev", "--base-path", "/home/attribution/data", "--rpc-cors", "all", "--no-telemetry"]
