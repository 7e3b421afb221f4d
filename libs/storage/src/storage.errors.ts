export type StorageErrorCode = 'INVALID_KEY' | 'NOT_FOUND' | 'RANGE_NOT_SATISFIABLE' | 'INVALID_STORAGE_URL';

export abstract class StorageError extends Error {
  abstract readonly code: StorageErrorCode;
}

export class InvalidKeyError extends StorageError {
  override readonly name = 'InvalidKeyError';
  readonly code = 'INVALID_KEY';

  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`invalid object key ${JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}…` : key)}: ${problem}`);
  }
}

export class ObjectNotFoundError extends StorageError {
  override readonly name = 'ObjectNotFoundError';
  readonly code = 'NOT_FOUND';

  constructor(readonly key: string) {
    super(`no object at ${key}`);
  }
}

/** A range that starts at or after the end of the object. `size` is for the 416's `Content-Range: bytes *\/size`. */
export class RangeNotSatisfiableError extends StorageError {
  override readonly name = 'RangeNotSatisfiableError';
  readonly code = 'RANGE_NOT_SATISFIABLE';

  constructor(
    readonly key: string,
    readonly size: number,
  ) {
    super(`range not satisfiable for ${key} (size ${size})`);
  }
}

export class InvalidStorageUrlError extends StorageError {
  override readonly name = 'InvalidStorageUrlError';
  readonly code = 'INVALID_STORAGE_URL';
}
