/** Error codes a uAPI call can fail with, and their negative errno as Node reports system errors. */
export const ERRNO = {
  ENOENT: -2,
  EIO: -5,
  ENXIO: -6,
  EAGAIN: -11,
  ENOMEM: -12,
  EFAULT: -14,
  EBUSY: -16,
  EEXIST: -17,
  EINVAL: -22,
} as const;

/** A uAPI error code name. */
export type KvmErrorCode = keyof typeof ERRNO;

/** The failure of a uAPI call: `code` and `errno` as the ioctl would return, and the rule that failed. */
export class KvmError extends Error {
  /** The errno name, e.g. 'EINVAL'. */
  readonly code: KvmErrorCode;
  /** The negative errno, e.g. -22. */
  readonly errno: number;

  constructor(code: KvmErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'KvmError';
    this.code = code;
    this.errno = ERRNO[code];
  }
}

/** Throws `KvmError(code, message)` unless `ok`; a message function is only called on failure. */
export function check(ok: boolean, code: KvmErrorCode, message: string | (() => string)): asserts ok {
  if (!ok) throw new KvmError(code, typeof message === 'string' ? message : message());
}
