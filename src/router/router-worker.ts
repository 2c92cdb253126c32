// The entry point of one router worker thread: its own listeners (SO_REUSEPORT shares the
// ports with the other workers) and its own Router, driven by the traffic switch's messages.
import { parentPort, workerData } from 'node:worker_threads';
import type { RoutingTable } from '../core/routing-table.ts';
import { startRouterHost } from './router-host.ts';
import type { RouterHost } from './router-host.ts';
import type { WorkerData, WorkerReply, WorkerRequest } from './worker-protocol.ts';

const port = parentPort;
if (port === null) throw new Error('router-worker.ts runs only as a worker thread');

function reply(message: WorkerReply): void {
  port?.postMessage(message);
}

function serve(host: RouterHost): void {
  let prepared: RoutingTable | null = null;
  port?.on('message', (request: WorkerRequest) => {
    switch (request.type) {
      case 'prepare':
        prepared = request.table;
        reply({ id: request.id, type: 'ack', generation: request.table.generation });
        return;
      case 'commit':
        if (prepared !== null && prepared.generation === request.generation) {
          host.router.apply(prepared);
          prepared = null;
        }
        reply({ id: request.id, type: 'ack', generation: host.router.generation });
        return;
      case 'drain':
        host.router.drain(request.app, request.color, request.options).then(
          (report) => reply({ id: request.id, type: 'drained', report }),
          (error: Error) => reply({ id: request.id, type: 'error', message: error.message }),
        );
        return;
      case 'health':
        host.router.setUpstreamHealth(request.health);
        return;
      case 'describe':
        reply({
          id: request.id,
          type: 'traffic',
          generation: host.router.generation,
          apps: host.router.traffic(),
        });
        return;
      case 'close':
        host.close(request.deadlineMs).then(
          () => {
            reply({ id: request.id, type: 'ack', generation: host.router.generation });
            port?.close();
          },
          (error: Error) => reply({ id: request.id, type: 'error', message: error.message }),
        );
        return;
    }
  });
}

startRouterHost((workerData as WorkerData).host).then(
  (host) => {
    serve(host);
    reply({ type: 'ready', public: host.publicAddress, preview: host.previewAddress });
  },
  (error: Error) => reply({ type: 'failed', message: error.message }),
);
