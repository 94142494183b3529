// Worker body for the heap test: allocates and frees blocks of mixed sizes on its own Heap view
// (thread id 2) until told to stop, so the main thread can run the checker against a live thread.
import { parentPort, workerData } from 'node:worker_threads';
import { Heap } from '../../src/store/heap';

const { sab, flag } = workerData as { sab: SharedArrayBuffer; flag: SharedArrayBuffer };
const stop = new Int32Array(flag);
const h = new Heap(sab, 2);
const sizes = [24, 40, 200, 1000, 20000, 70000];
const live: number[] = [];
const liveSize: number[] = [];
let seed = 7;
const rand = (n: number): number => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed % n;
};
let ops = 0;
while (Atomics.load(stop, 0) === 0) {
  if (live.length < 2000 && (live.length === 0 || rand(2) === 0)) {
    const size = sizes[rand(sizes.length)];
    live.push(h.alloc(size));
    liveSize.push(size);
  } else {
    const i = rand(live.length);
    h.free(live[i], liveSize[i]);
    live[i] = live[live.length - 1];
    liveSize[i] = liveSize[liveSize.length - 1];
    live.pop();
    liveSize.pop();
  }
  ops++;
}
for (let i = 0; i < live.length; i++) h.free(live[i], liveSize[i]);
parentPort?.postMessage(ops);
