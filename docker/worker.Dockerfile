# attribution-worker (CPU backend), injected: the binary is built on the host (scripts/lib.sh
# build_worker) and only copied in, onto the Debian base that scripts/docker makes with
# debootstrap (the worker links only glibc and libgcc_s, both in it).
# Built by scripts/docker; by hand: put attribution-worker in DIR, then
#   docker build -f docker/worker.Dockerfile -t attribution-worker DIR
ARG BASE=attribution-base:bookworm
FROM ${BASE}
ARG REVISION=unknown
ARG PROFILE=unknown
LABEL attribution-chain.image=worker \
      org.opencontainers.image.title=attribution-worker \
      org.opencontainers.image.revision=${REVISION} \
      attribution-chain.profile=${PROFILE}
COPY attribution-worker /usr/local/bin/attribution-worker
USER attribution
WORKDIR /home/attribution
# Jobs' data, checkpoints and results; base models are mounted read-only at /models.
VOLUME ["/home/attribution/state"]
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/attribution-worker"]
CMD ["--help"]
