import type { Codec, PathCount, RecordDecoder } from '../codec/index.ts'
import type { InputPort } from '../product/load.ts'

/** The codec's decoder of an input port, with the port it reads. */
export interface PortDecoder extends RecordDecoder {
  readonly port: InputPort
}

export function portDecoder(port: InputPort, codec: Codec, count?: PathCount): PortDecoder {
  const { format, envelope, evolution } = port.spec
  return { port, ...codec.decoder({ format, envelope, readerSchema: port.schema?.schema, evolution }, count) }
}
