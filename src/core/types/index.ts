// Re-exports of the type system: TypeInformation, the Types catalogue, serializers and their errors.

export { ArrayType, MapType, NullableType } from "./containers.ts";
export { ObjectType, type ObjectTypeOptions, TupleType } from "./codegen.ts";
export { GENERIC, GenericType, MAX_GENERIC_DEPTH } from "./generic.ts";
export { PrimitiveType } from "./primitives.ts";
export { TypeInformation, type TypeOf, type TypeSerializer, ValueSerializationError } from "./type-info.ts";
export { inferTypeInfo, Types } from "./types.ts";
