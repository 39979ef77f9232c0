// tf.train.Example, the payload of each TFRecord in NVIDIA's datasets, encoded with protobufjs
// from the schema of tensorflow/core/example/{example,feature}.proto (proto3: repeated scalars
// are packed). NVIDIA's records carry exactly two features: 'shape' (Int64List [C,H,W]) and
// 'data' (BytesList with one value, the raw uint8 CHW image).

import protobuf from 'protobufjs';
import { UserError } from './errors.ts';

// Plain JSON descriptor (protobufjs' reflection format) of the two .proto files.
const SCHEMA = {
  nested: {
    tensorflow: {
      nested: {
        Example: { fields: { features: { type: 'Features', id: 1 } } },
        Features: { fields: { feature: { keyType: 'string', type: 'Feature', id: 1 } } },
        Feature: {
          oneofs: { kind: { oneof: ['bytesList', 'floatList', 'int64List'] } },
          fields: {
            bytesList: { type: 'BytesList', id: 1 },
            floatList: { type: 'FloatList', id: 2 },
            int64List: { type: 'Int64List', id: 3 },
          },
        },
        BytesList: { fields: { value: { rule: 'repeated', type: 'bytes', id: 1 } } },
        FloatList: { fields: { value: { rule: 'repeated', type: 'float', id: 1, options: { packed: true } } } },
        Int64List: { fields: { value: { rule: 'repeated', type: 'int64', id: 1, options: { packed: true } } } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(SCHEMA as unknown as protobuf.INamespace);
const Example = root.lookupType('tensorflow.Example');

/** One image record: shape [C,H,W] and C·H·W bytes in CHW order. */
export interface ImageExample {
  shape: [number, number, number];
  data: Uint8Array;
}

/**
 * Serialises an image as NVIDIA's tf.train.Example. Map entries go in sorted key order ('data',
 * then 'shape'), protobuf's deterministic serialization, so equal images give equal bytes.
 * (TensorFlow's default serialization leaves map order unspecified; readers do not care.)
 */
export function encodeImageExample(ex: ImageExample): Uint8Array {
  const [c, h, w] = ex.shape;
  if (ex.data.length !== c * h * w) throw new Error(`encodeImageExample: ${ex.data.length} bytes for shape [${ex.shape}]`);
  const msg = Example.fromObject({
    features: {
      feature: {
        data: { bytesList: { value: [ex.data] } },
        shape: { int64List: { value: [c, h, w] } },
      },
    },
  });
  return Example.encode(msg).finish();
}

interface DecodedExample {
  features?: { feature?: Record<string, {
    bytesList?: { value?: Uint8Array[] };
    int64List?: { value?: (number | { toNumber(): number })[] };
  }> };
}

/**
 * Parses a record payload into an image. `where` (file and offset) goes into the message when
 * the payload is not one of NVIDIA's image examples.
 */
export function decodeImageExample(payload: Uint8Array, where: string): ImageExample {
  let msg: DecodedExample;
  try {
    msg = Example.decode(payload) as unknown as DecodedExample;
  } catch (err) {
    throw new UserError(`${where}: not a tf.train.Example (${(err as Error).message})`);
  }
  const feature = msg.features?.feature ?? {};
  const shapeValues = feature.shape?.int64List?.value;
  const dataValues = feature.data?.bytesList?.value;
  if (!shapeValues || shapeValues.length !== 3 || !dataValues || dataValues.length !== 1) {
    throw new UserError(`${where}: record lacks NVIDIA's 'shape' (Int64List of 3) and 'data' (one BytesList value) features`);
  }
  const shape = shapeValues.map((v) => (typeof v === 'number' ? v : v.toNumber())) as [number, number, number];
  const data = dataValues[0]!;
  if (data.length !== shape[0] * shape[1] * shape[2]) {
    throw new UserError(`${where}: 'data' holds ${data.length} bytes but 'shape' [${shape.join(', ')}] needs ${shape[0] * shape[1] * shape[2]}`);
  }
  return { shape, data };
}
