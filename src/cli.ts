// Entry point: `shardis [redis.conf] [--directive value ...]`, like redis-server.
import { main } from './server/main';

main(process.argv.slice(2)).catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
