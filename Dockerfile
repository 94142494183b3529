FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev
EXPOSE 6379
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["--bind", "0.0.0.0", "--protected-mode", "no"]
