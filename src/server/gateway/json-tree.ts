// A JSON value already checked by go-json.ts, as a tree that keeps what JSON.parse would lose
// and jsonpb looks at: the raw text of numbers (int64 beyond 2^53, "1.0" versus "1") and the raw
// bytes between a string's quotes (jsonpb strips the quotes of "123" and parses what is inside).

export type JsonNode =
  | { readonly kind: 'object'; readonly fields: ReadonlyMap<string, JsonNode> }
  | { readonly kind: 'array'; readonly items: readonly JsonNode[] }
  | { readonly kind: 'string'; readonly raw: Uint8Array; readonly text: string }
  | { readonly kind: 'number'; readonly raw: string }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'null' };

const utf8 = new TextDecoder('utf-8');

/** Parses one syntactically valid JSON value (see go-json.ts readValue/syntaxError). */
export function parseValidJson(bytes: Uint8Array): JsonNode {
  const parser = new TreeParser(bytes);
  return parser.value();
}

class TreeParser {
  private at = 0;

  constructor(private readonly bytes: Uint8Array) {}

  value(): JsonNode {
    this.skipSpace();
    const c = this.bytes[this.at];
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) return this.string();
    if (c === 0x74) return this.word('true', { kind: 'bool', value: true });
    if (c === 0x66) return this.word('false', { kind: 'bool', value: false });
    if (c === 0x6e) return this.word('null', { kind: 'null' });
    return this.number();
  }

  private object(): JsonNode {
    const fields = new Map<string, JsonNode>();
    this.at++; // {
    this.skipSpace();
    while (this.bytes[this.at] !== 0x7d) {
      const key = this.string();
      this.skipSpace();
      this.at++; // :
      // Later duplicates win, as when Go decodes into a map.
      fields.set(key.kind === 'string' ? key.text : '', this.value());
      this.skipSpace();
      if (this.bytes[this.at] === 0x2c) {
        this.at++;
        this.skipSpace();
      }
    }
    this.at++; // }
    return { kind: 'object', fields };
  }

  private array(): JsonNode {
    const items: JsonNode[] = [];
    this.at++; // [
    this.skipSpace();
    while (this.bytes[this.at] !== 0x5d) {
      items.push(this.value());
      this.skipSpace();
      if (this.bytes[this.at] === 0x2c) this.at++;
      this.skipSpace();
    }
    this.at++; // ]
    return { kind: 'array', items };
  }

  private string(): JsonNode {
    const start = this.at;
    this.at++; // opening quote
    while (this.bytes[this.at] !== 0x22) this.at += this.bytes[this.at] === 0x5c ? 2 : 1;
    this.at++; // closing quote
    const token = this.bytes.subarray(start, this.at);
    return { kind: 'string', raw: token.subarray(1, token.length - 1), text: JSON.parse(utf8.decode(token)) };
  }

  private number(): JsonNode {
    const start = this.at;
    while (this.at < this.bytes.length && /[-+.eE0-9]/.test(String.fromCharCode(this.bytes[this.at]))) {
      this.at++;
    }
    return { kind: 'number', raw: utf8.decode(this.bytes.subarray(start, this.at)) };
  }

  private word(word: string, node: JsonNode): JsonNode {
    this.at += word.length;
    return node;
  }

  private skipSpace(): void {
    while (this.at < this.bytes.length) {
      const c = this.bytes[this.at];
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.at++;
    }
  }
}

/** The word Go's UnmarshalTypeError uses for a JSON value ("cannot unmarshal string into …"). */
export function goKindName(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return 'object';
    case 'array':
      return 'array';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'bool':
      return 'bool';
    case 'null':
      return 'null';
  }
}
