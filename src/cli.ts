// Entry point: `shardis [redis.conf] [--directive value ...]`, like redis-server.
import { main } from './server/main';
import { SHARDIS_VERSION } from './version';
import { REDIS_VERSION } from './server/info';

const argv = process.argv.slice(2);
// As redis-server: only the first argument is looked at for these.
if (argv[0] === '-v' || argv[0] === '--version') {
  // redis-server's fields, with the Redis version it is compatible with as an extra field.
  process.stdout.write(`shardis server v=${SHARDIS_VERSION} redis=${REDIS_VERSION} sha=00000000:0 malloc=shardis bits=64 build=0\n`);
  process.exit(0);
}
if (argv[0] === '-h' || argv[0] === '--help') {
  process.stderr.write(
    [
      'Usage: shardis [/path/to/redis.conf] [options] [-]',
      '       shardis - (read config from stdin)',
      '       shardis -v or --version',
      '       shardis -h or --help',
      '',
      'Examples:',
      '       shardis (run the server with default conf)',
      "       echo 'maxmemory 128mb' | shardis -",
      '       shardis /etc/redis/6379.conf',
      '       shardis --port 7777',
      '       shardis --port 7777 --threads 4',
      '       shardis /etc/myredis.conf --loglevel verbose -',
      '       shardis /etc/myredis.conf --loglevel verbose',
      '',
      'Options are redis.conf directives (as redis-server takes them), plus --threads N',
      '(worker threads, default: one per core).',
      '',
    ].join('\n'),
  );
  process.exit(1);
}

main(argv).catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
