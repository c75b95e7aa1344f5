/**
 * The Thrift compact protocol, write side only, for Parquet's page headers and footer. A struct is
 * a list of [field id, value] in ascending id order; values are tagged so each gets its wire type.
 * https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
 */
export type ThriftValue =
  | { i32: number }
  | { i64: number }
  | { bin: Uint8Array | string }
  | { bool: boolean }
  | { struct: ThriftStruct }
  | { list: ThriftValue[]; of: 'i32' | 'bin' | 'struct' }
export type ThriftStruct = Array<[id: number, value: ThriftValue | undefined]>

const TYPE = { i32: 5, i64: 6, bin: 8, list: 9, struct: 12 } as const

export function encodeStruct(struct: ThriftStruct): Buffer {
  const out: number[] = []
  writeStruct(out, struct)
  return Buffer.from(out)
}

function writeStruct(out: number[], struct: ThriftStruct): void {
  let last = 0
  for (const [id, value] of struct) {
    if (value === undefined) continue
    const type = 'bool' in value ? (value.bool ? 1 : 2) : TYPE[Object.keys(value)[0] as keyof typeof TYPE]
    const delta = id - last
    if (delta > 0 && delta <= 15) out.push((delta << 4) | type)
    else {
      out.push(type)
      varint(out, zigzag(id))
    }
    last = id
    if (!('bool' in value)) writeValue(out, value)
  }
  out.push(0)
}

function writeValue(out: number[], value: ThriftValue): void {
  if ('i32' in value) varint(out, zigzag(value.i32))
  else if ('i64' in value) varint(out, zigzag(value.i64))
  else if ('bin' in value) {
    const bytes = typeof value.bin === 'string' ? Buffer.from(value.bin, 'utf8') : value.bin
    varint(out, bytes.length)
    for (const b of bytes) out.push(b)
  } else if ('struct' in value) writeStruct(out, value.struct)
  else if ('list' in value) {
    const n = value.list.length
    const type = TYPE[value.of]
    if (n < 15) out.push((n << 4) | type)
    else {
      out.push(0xf0 | type)
      varint(out, n)
    }
    for (const item of value.list) writeValue(out, item)
  }
}

/** Zigzag for integers up to 2^53 in magnitude (arithmetic, not bitwise: i64 values exceed 32 bits). */
const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1)

/** An unsigned LEB128 varint (also Parquet's RLE run headers). */
export function varint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
}
