/** An error answer of the emulated service: HTTP status, Code and Message as the real service sends them. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly extra: Record<string, unknown> = {}) {
    super(message);
  }
}

export function missing(name: string): ApiError {
  return new ApiError(400, `MissingParameter.${name}`, `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
}

export function invalid(name: string, why: string): ApiError {
  return new ApiError(400, `InvalidParameter.${name}`, `The specified parameter "${name}" is not valid: ${why}`);
}
