/** Typed-array columns that grow by doubling (arrival and transmit columns of the queue model). */

/** A copy of `a` twice as long, with its contents. */
export function grow<T extends Float64Array | Int32Array | Int8Array | Uint8Array>(a: T): T {
  const b = new (a.constructor as { new (n: number): T })(a.length * 2);
  b.set(a);
  return b;
}
