FROM node:24-bookworm-slim
WORKDIR /app
# Lua scripting's native addon (native/lua) builds against Debian's Lua 5.1, cjson and bitop.
RUN apt-get update && apt-get install -y --no-install-recommends liblua5.1-0-dev lua-cjson-dev lua-bitop-dev g++ make python3 \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev
# As the official redis image: the dataset directory is /data, a volume, owned by an unprivileged user.
RUN mkdir -p /data && chown node:node /data
VOLUME /data
WORKDIR /data
USER node
EXPOSE 6379
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["shardis"]
