/*
 * A device's lifetime as the runner sees it: once `device.lost` resolves, every
 * pending and later GPU call rejects with one AttentionBackendError saying why (an
 * AttentionInputError where attn.destroy() ended it),
 * so nothing waits forever on a dead device.
 */
import { AttentionBackendError, AttentionInputError, ENDED_BY_DESTROY } from '../tensor/errors.js';

export class DeviceLife {
  /** Set once the device is lost. */
  lostInfo: { readonly reason: string; readonly message: string } | undefined;
  private readonly lost: Promise<never>;

  constructor(device: GPUDevice) {
    this.lost = (device.lost ?? new Promise(() => {})).then((info) => {
      this.lostInfo = { reason: String(info.reason), message: info.message };
      throw this.lostError();
    });
    this.lost.catch(() => {}); // observed by whoever awaits a GPU call; never an unhandled rejection
  }

  /** Whether attn.recover() can make a new device (not for one the caller passed to createAttention). */
  recoverable = true;
  /** Set by attn.destroy() before it destroys the device: calls still under way then say that, not "lost". */
  destroyed = false;

  /** The error every call gets once the device is lost. */
  lostError(): AttentionBackendError | AttentionInputError {
    if (this.destroyed) return new AttentionInputError(ENDED_BY_DESTROY);
    const why = this.lostInfo ? `${this.lostInfo.reason}${this.lostInfo.message ? `: ${this.lostInfo.message}` : ''}` : 'unknown';
    const next = this.recoverable
      ? 'call attn.recover() for a new device and upload the tensors again'
      : 'it is the device passed to createAttention, so make a new device and a new Attention on it';
    return new AttentionBackendError(`the GPU device was lost (${why}); ${next}`);
  }

  /** Throws if the device is lost (before any work is encoded). */
  checkAlive(): void {
    if (this.lostInfo || this.destroyed) throw this.lostError();
  }

  /** `p`, or a rejection as soon as the device is lost. */
  guard<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.lost]);
  }
}
