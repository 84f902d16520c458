/**
 * The bench's reference graphs, written as ONNX protobuf bytes in the run that uses them: the weights are
 * the engine's own Float32Arrays, stored as initializers (as an exported model holds them), so every
 * onnxruntime session gets exactly our numbers and copies no weights per run. No Python, no files.
 *
 * Only what the graphs below need of onnx.proto (IR version 8, opset 17): ModelProto, GraphProto,
 * NodeProto, AttributeProto (float, int, ints), TensorProto (float32/int64 raw_data), ValueInfoProto.
 */

/** Protobuf writer: varints, length-delimited fields, nested messages. */
class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v) byte |= 0x80;
      out.push(byte);
    } while (v);
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, inner: Writer): this {
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

const FLOAT = 1;
const INT64 = 7;

export type Attr = number | readonly number[] | { readonly float: number };

/** One node: op type, input and output names, attributes (an integer, a list of integers, or { float }). */
export interface Node {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs?: Readonly<Record<string, Attr>>;
}

/** A graph input or output: float32 with fixed sizes, or a named symbolic size. */
export interface Value {
  readonly name: string;
  readonly dims: readonly (number | string)[];
  readonly type?: 'float32' | 'int64';
}

export interface Initializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array;
}

function tensorProto(t: Initializer): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.data instanceof Float32Array ? FLOAT : INT64);
  w.string(8, t.name);
  return w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function valueInfo(v: Value): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensorType = new Writer().int(1, v.type === 'int64' ? INT64 : FLOAT).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType));
}

function attribute(name: string, value: Attr): Writer {
  const w = new Writer().string(1, name);
  if (typeof value === 'number') return w.int(3, value).int(20, 2);
  if ('float' in value) return w.float(2, value.float).int(20, 1);
  for (const v of value as readonly number[]) w.int(8, v);
  return w.int(20, 7);
}

/** Serialises a model: one graph, default-domain opset 17. */
export function onnxModel(graph: { nodes: readonly Node[]; inputs: readonly Value[]; outputs: readonly Value[]; initializers: readonly Initializer[] }): Uint8Array {
  const g = new Writer();
  graph.nodes.forEach((n, i) => {
    const node = new Writer();
    for (const x of n.inputs) node.string(1, x);
    for (const x of n.outputs) node.string(2, x);
    node.string(3, `${n.op}_${i}`).string(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) node.message(5, attribute(k, v));
    g.message(1, node);
  });
  g.string(2, 'bench');
  for (const t of graph.initializers) g.message(5, tensorProto(t));
  for (const v of graph.inputs) g.message(11, valueInfo(v));
  for (const v of graph.outputs) g.message(12, valueInfo(v));
  return new Writer().int(1, 8).string(2, 'attention-inspector-bench').message(7, g).message(8, new Writer().string(1, '').int(2, 17)).finish();
}

/** Builds a graph node by node, naming intermediate values. */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  private count = 0;

  /** Adds a node with one output and returns that output's name. */
  op(op: string, inputs: readonly string[], attrs?: Readonly<Record<string, Attr>>, output = `t${this.count++}`): string {
    this.nodes.push({ op, inputs, outputs: [output], attrs });
    return output;
  }

  /** Adds a node with several outputs. */
  ops(op: string, inputs: readonly string[], outputs: number, attrs?: Readonly<Record<string, Attr>>): string[] {
    const names = Array.from({ length: outputs }, () => `t${this.count++}`);
    this.nodes.push({ op, inputs, outputs: names, attrs });
    return names;
  }

  weight(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push({ name, dims, data });
    return name;
  }

  int64s(name: string, values: readonly number[]): string {
    this.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  }

  scalar(name: string, value: number): string {
    this.initializers.push({ name, dims: [], data: Float32Array.of(value) });
    return name;
  }

  build(inputs: readonly Value[], outputs: readonly Value[]): Uint8Array {
    return onnxModel({ nodes: this.nodes, inputs, outputs, initializers: this.initializers });
  }
}
