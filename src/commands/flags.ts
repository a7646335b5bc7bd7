/** commander argParser for repeatable flags: each occurrence is appended. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
