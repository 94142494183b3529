FROM node:24-bookworm-slim
WORKDIR /app
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
