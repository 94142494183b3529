// Buffer views without buf.subarray(): subarray reads buf.buffer through a C++ call and looks up
// the species constructor on every call (about 45 ns in Node 20). Node's own Buffer class
// (FastBuffer, which Buffer[Symbol.species] returns) built on an ArrayBuffer fetched once per
// socket chunk costs about 17 ns: the parser makes one view per argument.

export type BufferViewCtor = new (ab: ArrayBufferLike, byteOffset: number, length: number) => Buffer;

function pick(): BufferViewCtor {
  const species = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species];
  if (typeof species === 'function') {
    const probe = new (species as BufferViewCtor)(new ArrayBuffer(2), 1, 1);
    if (Object.getPrototypeOf(probe) === Buffer.prototype && probe.byteOffset === 1 && probe.length === 1) return species as BufferViewCtor;
  }
  // Another runtime: the public (slower) path, same result.
  return function view(ab: ArrayBufferLike, byteOffset: number, length: number): Buffer {
    return Buffer.from(ab as ArrayBuffer, byteOffset, length);
  } as unknown as BufferViewCtor;
}

export const BufferView: BufferViewCtor = pick();

/** A Buffer over a Uint8Array's bytes (one received through postMessage, say), not a copy. */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
