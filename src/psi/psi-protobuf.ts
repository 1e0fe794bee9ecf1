import { diagnostic } from '../errors/diagnostic.ts';
import { refusalOf, type RefusedError } from '../errors/refused-error.ts';

/**
 * A pure codec for the three psi.js protobufs (psi.proto: ServerSetup{raw}, Request, Response).
 * The room validates and counts relayed messages with it without loading psi.js's WASM, and the
 * parties merge chunk outputs with it. Elements travel packed: n compressed P-256 points of
 * ELEMENT_BYTES each, back to back.
 */
export const ELEMENT_BYTES = 33;

const WIRE_VARINT = 0;
const WIRE_LENGTH = 2;

/** Thrown for anything that is not exactly what psi.js would produce. */
export function malformed(reason: string, details: Readonly<Record<string, unknown>> = {}): RefusedError {
  return refusalOf(
    diagnostic('PSI_MALFORMED_MESSAGE', `The PSI message is malformed: ${reason}.`, 'psi.js message format', {
      reason,
      ...details,
    }),
  );
}

interface Field {
  readonly field: number;
  readonly wire: number;
  readonly value: number;
  readonly start: number;
  readonly end: number;
}

function readVarint(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length && i < offset + 8; i += 1) {
    const byte = bytes[i] as number;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  throw malformed('truncated or oversized varint');
}

function* fields(bytes: Uint8Array): Generator<Field> {
  let offset = 0;
  while (offset < bytes.length) {
    const [tag, afterTag] = readVarint(bytes, offset);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === WIRE_VARINT) {
      const [value, next] = readVarint(bytes, afterTag);
      yield { field, wire, value, start: afterTag, end: next };
      offset = next;
    } else if (wire === WIRE_LENGTH) {
      const [length, start] = readVarint(bytes, afterTag);
      if (start + length > bytes.length) throw malformed('truncated field');
      yield { field, wire, value: length, start, end: start + length };
      offset = start + length;
    } else {
      throw malformed('unexpected protobuf wire type', { wire });
    }
  }
}

function collectElements(bytes: Uint8Array, spans: readonly Field[]): Uint8Array {
  const packed = new Uint8Array(spans.length * ELEMENT_BYTES);
  spans.forEach((span, i) => {
    const first = bytes[span.start];
    if (span.end - span.start !== ELEMENT_BYTES || (first !== 2 && first !== 3)) {
      throw malformed('an element is not a compressed curve point', { element: i });
    }
    packed.set(bytes.subarray(span.start, span.end), i * ELEMENT_BYTES);
  });
  return packed;
}

function elementFields(bytes: Uint8Array, elementField: number, flagField?: number): { spans: Field[]; flag: boolean } {
  const spans: Field[] = [];
  let flag = false;
  for (const f of fields(bytes)) {
    if (f.field === elementField && f.wire === WIRE_LENGTH) spans.push(f);
    else if (flagField !== undefined && f.field === flagField && f.wire === WIRE_VARINT && f.value <= 1)
      flag = f.value === 1;
    else throw malformed('unexpected protobuf field', { field: f.field });
  }
  return { spans, flag };
}

/** Decodes a psi.js Request: its reveal flag and its packed elements. */
export function decodeRequest(bytes: Uint8Array): { revealIntersection: boolean; elements: Uint8Array } {
  const { spans, flag } = elementFields(bytes, 2, 1);
  return { revealIntersection: flag, elements: collectElements(bytes, spans) };
}

/** Decodes a psi.js Response into its packed elements. */
export function decodeResponse(bytes: Uint8Array): Uint8Array {
  return collectElements(bytes, elementFields(bytes, 1).spans);
}

/** Decodes a psi.js ServerSetup; only the Raw data structure is accepted (see CONTEXT.md). */
export function decodeRawSetup(bytes: Uint8Array): Uint8Array {
  const parts = [...fields(bytes)];
  const [raw] = parts;
  if (parts.length > 1 || (raw !== undefined && (raw.field !== 1 || raw.wire !== WIRE_LENGTH))) {
    throw malformed('the server setup must use the Raw data structure');
  }
  if (raw === undefined) return new Uint8Array(0);
  const inner = bytes.subarray(raw.start, raw.end);
  return collectElements(inner, elementFields(inner, 1).spans);
}

function varintLength(n: number): number {
  let length = 1;
  for (let v = n; v >= 128; v = Math.floor(v / 128)) length += 1;
  return length;
}

function writeVarint(out: Uint8Array, offset: number, n: number): number {
  let v = n;
  let at = offset;
  while (v >= 128) {
    out[at] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
    at += 1;
  }
  out[at] = v;
  return at + 1;
}

function writeElements(out: Uint8Array, offset: number, tag: number, packed: Uint8Array): number {
  let at = offset;
  for (let i = 0; i < packed.length; i += ELEMENT_BYTES) {
    out[at] = tag;
    out[at + 1] = ELEMENT_BYTES;
    out.set(packed.subarray(i, i + ELEMENT_BYTES), at + 2);
    at += ELEMENT_BYTES + 2;
  }
  return at;
}

const encodedElementsLength = (packed: Uint8Array): number => (packed.length / ELEMENT_BYTES) * (ELEMENT_BYTES + 2);

/** Encodes packed elements as psi.js would serialise a Request. */
export function encodeRequest(revealIntersection: boolean, packed: Uint8Array): Uint8Array {
  const head = revealIntersection ? 2 : 0;
  const out = new Uint8Array(head + encodedElementsLength(packed));
  if (revealIntersection) out.set([0x08, 0x01]);
  writeElements(out, head, 0x12, packed);
  return out;
}

/** Encodes packed elements as psi.js would serialise a Response. */
export function encodeResponse(packed: Uint8Array): Uint8Array {
  const out = new Uint8Array(encodedElementsLength(packed));
  writeElements(out, 0, 0x0a, packed);
  return out;
}

/** Encodes packed, already sorted elements as a psi.js Raw ServerSetup. */
export function encodeRawSetup(packed: Uint8Array): Uint8Array {
  const inner = encodedElementsLength(packed);
  const out = new Uint8Array(1 + varintLength(inner) + inner);
  out[0] = 0x0a;
  writeElements(out, writeVarint(out, 1, inner), 0x0a, packed);
  return out;
}
