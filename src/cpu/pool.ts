/*
 * A pool of CPU workers, started on first use and reused by every later call of
 * the same Attention; destroy() terminates them. Tasks are matched to replies by
 * id, so calls may overlap. In Node a worker keeps the process alive only while it
 * has tasks, so an Attention that is never destroyed still lets the process exit.
 * A worker that fails to start (a bundle without the entry, a page that forbids
 * workers) is dropped; with none left, callers run inline.
 */
import { AttentionInputError, ENDED_BY_DESTROY } from '../tensor/errors.js';
import { defaultThreads, spawnCpuWorker, type CpuWorker } from './threads-node.js';
import { READY, type TaskBody, type TaskReply } from './worker-protocol.js';

interface Slot {
  readonly worker: CpuWorker;
  readonly pending: Map<number, { resolve: (r: TaskReply) => void; reject: (e: Error) => void }>;
}

let nextId = 1;

export class CpuPool {
  private slots?: Promise<Slot[]>;
  private destroyed = false;

  /** @param threads workers to start (undefined: the available cores); ≤ 1 starts none */
  constructor(private readonly threads?: number) {}

  /** The started workers (started now on first call); empty: run inline. */
  workers(): Promise<Slot[]> {
    if (this.destroyed) return Promise.resolve([]);
    this.slots ??= this.start();
    return this.slots;
  }

  private async start(): Promise<Slot[]> {
    const n = this.threads ?? (await defaultThreads());
    if (n <= 1 || this.destroyed) return [];
    const started = await Promise.all(Array.from({ length: n }, () => this.startOne().catch(() => undefined)));
    const slots = started.filter((s): s is Slot => s !== undefined);
    if (this.destroyed) slots.forEach((s) => s.worker.terminate());
    return this.destroyed ? [] : slots;
  }

  /** One worker, resolved once it says it is ready; rejected if it fails first. */
  private async startOne(): Promise<Slot | undefined> {
    const worker = await spawnCpuWorker();
    if (!worker) return undefined;
    const slot: Slot = { worker, pending: new Map() };
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.listen(
        (data) => {
          if (data === READY) {
            ready = true;
            worker.hold(false); // an idle worker keeps no process alive
            resolve(slot);
            return;
          }
          const reply = data as TaskReply;
          const p = slot.pending.get(reply.id);
          slot.pending.delete(reply.id);
          if (slot.pending.size === 0) worker.hold(false);
          p?.resolve(reply);
        },
        (error) => {
          if (!ready) {
            worker.terminate();
            reject(error);
          }
          // A worker destroy() ended: its tasks' calls were still under way, and that is what they say.
          const why = this.destroyed ? new AttentionInputError(ENDED_BY_DESTROY) : error;
          for (const p of slot.pending.values()) p.reject(why);
          slot.pending.clear();
          worker.hold(false);
        },
      );
    });
  }

  /** Runs one task on `slot`; resolves with the worker's reply (ok or failed). */
  run(slot: Slot, task: TaskBody, transfer: readonly ArrayBuffer[] = []): Promise<TaskReply> {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.hold(true);
      slot.worker.post({ ...task, id }, transfer);
    });
  }

  /** Terminates the workers (pending tasks are abandoned). */
  destroy(): void {
    this.destroyed = true;
    void this.slots?.then((slots) => slots.forEach((s) => s.worker.terminate()));
  }
}

export type { Slot as CpuPoolSlot };
