/** The public API for product code (`transform.ts`). */
export { defineTransform } from './product/transform.ts'
export type {
  ChangeOp,
  InputRecord,
  OutputRecord,
  StateStore,
  TransformContext,
  TransformFn,
  TransformResult,
} from './product/transform.ts'
export { TributaryError } from './errors.ts'
export type { ErrorCode } from './errors.ts'
