/**
 * A strict reader of NPY files (format versions 1.0 and 2.0) for the tests, written from the format
 * description rather than from the writer, so that a writer mistake shows as a read failure or a wrong value.
 */

export interface NpyArray {
  readonly version: 1 | 2;
  /** Bytes before the data: magic, version, length field and header. */
  readonly dataOffset: number;
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: number[];
  readonly data: Float32Array;
}

type PyValue = string | number | boolean | PyValue[] | { [key: string]: PyValue };

/** Parses a little-endian float32 .npy file; throws on anything a conforming reader would reject. */
export function readNpy(bytes: Uint8Array): NpyArray {
  const magic = [0x93, ...'NUMPY'].map((c) => (typeof c === 'number' ? c : c.charCodeAt(0)));
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new Error('not an NPY file (bad magic)');
  const major = bytes[6];
  const minor = bytes[7];
  if ((major !== 1 && major !== 2) || minor !== 0) throw new Error(`unsupported NPY version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthField = major === 1 ? 2 : 4;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lengthField + headerLength;
  if (dataOffset > bytes.length) throw new Error(`header length ${headerLength} runs past the end of the file`);
  const text = new TextDecoder('latin1').decode(bytes.subarray(8 + lengthField, dataOffset));
  if (!text.endsWith('\n')) throw new Error('header does not end with a newline');

  const dict = new PyLiteral(text.trimEnd()).parseAll();
  if (Array.isArray(dict) || typeof dict !== 'object') throw new Error('header is not a dict');
  const keys = Object.keys(dict).sort().join(',');
  if (keys !== 'descr,fortran_order,shape') throw new Error(`header keys are ${keys}`);
  const { descr, fortran_order: fortranOrder, shape } = dict;
  if (descr !== '<f4') throw new Error(`descr ${String(descr)} is not '<f4'`);
  if (typeof fortranOrder !== 'boolean') throw new Error('fortran_order is not a bool');
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number')) throw new Error('shape is not a tuple of ints');

  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (bytes.length - dataOffset !== count * 4) {
    throw new Error(`data is ${bytes.length - dataOffset} bytes, shape (${shape.join(', ')}) needs ${count * 4}`);
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(dataOffset + 4 * i, true);
  return { version: major, dataOffset, descr, fortranOrder, shape: shape as number[], data };
}

/** The Python literal subset NPY headers use: dicts, tuples, quoted strings, ints, True/False. */
class PyLiteral {
  private at = 0;

  constructor(private readonly text: string) {}

  parseAll(): PyValue {
    const value = this.value();
    this.space();
    if (this.at !== this.text.length) throw new Error(`unexpected ${JSON.stringify(this.text.slice(this.at))} in header`);
    return value;
  }

  private value(): PyValue {
    this.space();
    const c = this.text[this.at];
    if (c === '{') return this.dict();
    if (c === '(') return this.tuple();
    if (c === "'" || c === '"') return this.string();
    const word = /^(True|False|\d+)/.exec(this.text.slice(this.at));
    if (!word) throw new Error(`cannot parse header at ${JSON.stringify(this.text.slice(this.at))}`);
    this.at += word[0].length;
    return word[0] === 'True' ? true : word[0] === 'False' ? false : Number(word[0]);
  }

  private dict(): { [key: string]: PyValue } {
    const out: { [key: string]: PyValue } = {};
    this.items('{', '}', () => {
      const key = this.value();
      if (typeof key !== 'string') throw new Error('dict key is not a string');
      this.expect(':');
      out[key] = this.value();
    });
    return out;
  }

  private tuple(): PyValue[] {
    const out: PyValue[] = [];
    const commas = this.items('(', ')', () => out.push(this.value()));
    // Python: (3) is an int, (3,) a tuple; a shape must be a tuple.
    if (out.length === 1 && commas === 0) throw new Error('one-element shape tuple without a comma');
    return out;
  }

  /** open item (, item)* [,] close; returns the number of commas. */
  private items(open: string, close: string, item: () => void): number {
    this.expect(open);
    let commas = 0;
    for (;;) {
      this.space();
      if (this.text[this.at] === close) break;
      item();
      this.space();
      if (this.text[this.at] !== ',') break;
      this.at++;
      commas++;
    }
    this.expect(close);
    return commas;
  }

  private string(): string {
    const quote = this.text[this.at++];
    const end = this.text.indexOf(quote, this.at);
    if (end < 0) throw new Error('unterminated string in header');
    const s = this.text.slice(this.at, end);
    this.at = end + 1;
    return s;
  }

  private expect(c: string): void {
    this.space();
    if (this.text[this.at] !== c) throw new Error(`expected ${c} in header at ${JSON.stringify(this.text.slice(this.at))}`);
    this.at++;
  }

  private space(): void {
    while (this.text[this.at] === ' ') this.at++;
  }
}
