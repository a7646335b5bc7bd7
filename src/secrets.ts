/** Keeps credentials out of anything vnode prints: values registered here are masked in every output stream. */
export class Redactor {
  private readonly values = new Set<string>();

  add(value: string | undefined): void {
    // very short values would mask ordinary words
    if (value && value.length >= 6) this.values.add(value);
  }

  redact(text: string): string {
    let out = text;
    for (const v of this.values) {
      if (out.includes(v)) out = out.split(v).join('<redacted>');
    }
    return out;
  }
}
