# The studio: its built web app (studio/dist) served as static files by busybox httpd, which the
# Debian base that scripts/docker makes already holds. Nothing is fetched at run time.
# Built by scripts/docker from a directory holding studio/ (the built app) and httpd.conf
# (docker/studio-httpd.conf: the content types a browser insists on for module scripts).
ARG BASE=attribution-base:bookworm
FROM ${BASE}
ARG REVISION=unknown
LABEL attribution-chain.image=studio \
      org.opencontainers.image.title=attribution-studio \
      org.opencontainers.image.revision=${REVISION}
COPY httpd.conf /etc/httpd.conf
COPY studio/ /srv/studio/
USER attribution
EXPOSE 3000
ENTRYPOINT ["busybox", "httpd", "-f", "-c", "/etc/httpd.conf", "-h", "/srv/studio"]
CMD ["-p", "127.0.0.1:3000"]
