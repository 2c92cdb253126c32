// The built-in router alone (no daemon, no state store), as a child process:
//   node bench/lib/builtin-router-main.ts <workers> <upstream host:port>
// Routes a catch-all app `bench` to the upstream on an ephemeral public port and prints
// `listening <port>`. The proxy benchmark uses it with BENCH_CUTOVER=builtin, to measure the
// data plane without the daemon around it.
import { createBuiltinTrafficSwitch } from '../../src/adapters/traffic/builtin/builtin-traffic-switch.ts';

const workers = Number(process.argv[2] ?? '1');
const upstream = process.argv[3];
if (upstream === undefined || !Number.isInteger(workers) || workers < 1) {
  process.stderr.write('usage: node bench/lib/builtin-router-main.ts <workers> <host:port>\n');
  process.exit(2);
}

const traffic = await createBuiltinTrafficSwitch({
  public: { host: '127.0.0.1', port: 0 },
  preview: { host: '127.0.0.1', port: 0 },
  workers,
});
await traffic.apply({
  generation: 1,
  apps: [
    {
      app: 'bench',
      hosts: [],
      live: { color: 'blue', release: 'v1', upstreams: [upstream] },
      idle: null,
    },
  ],
});
process.stdout.write(`listening ${traffic.publicAddress.port}\n`);
process.on('SIGTERM', () => {
  void traffic.close(2000).finally(() => process.exit(0));
});
