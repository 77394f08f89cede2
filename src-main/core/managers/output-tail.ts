/** The last `limit` bytes of a stream of chunks: memory stays bounded however much is written. */
export class OutputTail {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(limit = 4096) {
    this.#limit = limit;
  }

  /** Append a chunk, dropping whole chunks from the front once they fall outside the window. */
  push(chunk: Buffer | string): void {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    // Copy the tail of a large chunk so the big buffer itself is not retained.
    if (buf.length > this.#limit) buf = Buffer.from(buf.subarray(buf.length - this.#limit));
    this.#chunks.push(buf);
    this.#bytes += buf.length;
    let first = this.#chunks[0];
    while (first !== undefined && this.#bytes - first.length >= this.#limit) {
      this.#chunks.shift();
      this.#bytes -= first.length;
      first = this.#chunks[0];
    }
  }

  /** The tail as text, whitespace-trimmed, without a UTF-8 sequence cut in half at its start. */
  toString(): string {
    const all = Buffer.concat(this.#chunks, this.#bytes);
    let start = Math.max(0, all.length - this.#limit);
    // Skip continuation bytes (10xxxxxx) left over from a character the window cut.
    while (start < all.length && ((all[start] ?? 0) & 0xc0) === 0x80) start++;
    return all.subarray(start).toString('utf8').trim();
  }
}
