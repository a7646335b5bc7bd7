/**
 * client-node's typed models name some OpenAPI schema keys differently from the wire (`_enum` for `enum`,
 * `x_kubernetes_preserve_unknown_fields` for `x-kubernetes-preserve-unknown-fields`, ...): it drops the wire
 * names it is given and returns its own. CustomResourceDefinitions travel through that model, so vnode speaks wire
 * JSON everywhere and converts at this one seam.
 */
const RENAMES: [model: string, wire: string][] = [
  ['ref', '$ref'], ['schema', '$schema'], ['_default', 'default'], ['_enum', 'enum'],
  ['x_kubernetes_embedded_resource', 'x-kubernetes-embedded-resource'], ['x_kubernetes_int_or_string', 'x-kubernetes-int-or-string'],
  ['x_kubernetes_list_map_keys', 'x-kubernetes-list-map-keys'], ['x_kubernetes_list_type', 'x-kubernetes-list-type'],
  ['x_kubernetes_map_type', 'x-kubernetes-map-type'], ['x_kubernetes_preserve_unknown_fields', 'x-kubernetes-preserve-unknown-fields'],
  ['x_kubernetes_validations', 'x-kubernetes-validations'],
];
/** Positions the model types as schemas (the rest, `items` and `additionalProperties`, it passes through untouched). */
const MAPS = ['properties', 'definitions', 'patternProperties'];
const LISTS = ['allOf', 'anyOf', 'oneOf'];

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function convert(schema: unknown, toModel: boolean): unknown {
  if (!isObj(schema)) return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) {
    const pair = RENAMES.find(([m, w]) => (toModel ? w : m) === k);
    const key = pair ? (toModel ? pair[0] : pair[1]) : k;
    if (MAPS.includes(k) && isObj(v)) out[key] = Object.fromEntries(Object.entries(v).map(([n, s]) => [n, convert(s, toModel)]));
    else if (LISTS.includes(k) && Array.isArray(v)) out[key] = v.map((s) => convert(s, toModel));
    else if (k === 'not') out[key] = convert(v, toModel);
    else out[key] = v;
  }
  return out;
}

/** A CustomResourceDefinition (or a patch of one) with its version schemas converted; anything else as it is. */
export function crdNames<T>(o: T, to: 'model' | 'wire'): T {
  const obj = o as { kind?: string; spec?: { versions?: { schema?: { openAPIV3Schema?: unknown } }[] } };
  if (!Array.isArray(obj?.spec?.versions)) return o;
  if (obj.kind !== undefined && obj.kind !== 'CustomResourceDefinition') return o;
  return {
    ...obj,
    spec: {
      ...obj.spec,
      versions: obj.spec.versions.map((v) => (v.schema?.openAPIV3Schema ? { ...v, schema: { ...v.schema, openAPIV3Schema: convert(v.schema.openAPIV3Schema, to === 'model') } } : v)),
    },
  } as T;
}
