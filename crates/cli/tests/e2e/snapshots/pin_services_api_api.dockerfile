FROM [REGISTRY]/acme/runtime:3.20@sha256:fa1edac31a9359628ccbd029d22a7ce678ba1765e2b7d05e67d7830a3924f74d
COPY api /api
CMD ["/api"]
