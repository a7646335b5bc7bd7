import { operationError, VnodeError } from '../errors.js';

export interface SdkErrorFields {
  code?: string;
  statusCode?: number;
  message?: string;
  data?: { RequestId?: string; Recommend?: string; Message?: string; Code?: string; AccessDeniedDetail?: { AuthAction?: string } };
  requestId?: string;
  retryAfter?: number;
  accessDeniedDetail?: { AuthAction?: string };
}

const NETWORK = /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|socket hang up|ReadTimeout|ConnectTimeout|timeout/i;

export function sdkFields(e: unknown): SdkErrorFields {
  return (e ?? {}) as SdkErrorFields;
}

export function isNetworkError(e: unknown): boolean {
  const f = sdkFields(e);
  if (typeof f.statusCode === 'number') return false;
  const text = `${f.code ?? ''} ${f.message ?? ''} ${(e as { cause?: { code?: string } })?.cause?.code ?? ''}`;
  return NETWORK.test(text);
}

export function isRetryable(e: unknown): boolean {
  const f = sdkFields(e);
  if (typeof f.code === 'string' && f.code.startsWith('Throttling')) return true;
  if (typeof f.statusCode === 'number' && f.statusCode >= 500) return true;
  if (f.code === 'ServiceUnavailable' || f.code === 'InternalError') return true;
  return isNetworkError(e);
}

/** Which system policy grants an action, for the hint of a permission error. */
export function policyFor(action: string): string {
  const [svc, op = ''] = action.split(':');
  const readOnly = /^(Describe|Get|List)/.test(op);
  switch (svc) {
    case 'ram': return readOnly ? 'AliyunRAMReadOnlyAccess' : 'AliyunRAMFullAccess';
    case 'eci': return readOnly ? 'AliyunECIReadOnlyAccess' : 'AliyunECIFullAccess';
    case 'vpc': return readOnly ? 'AliyunVPCReadOnlyAccess' : 'AliyunVPCFullAccess';
    case 'ecs': return readOnly ? 'AliyunECSReadOnlyAccess' : 'AliyunECSFullAccess';
    case 'cs': return readOnly ? 'AliyunCSReadOnlyAccess' : 'AliyunCSFullAccess';
    default: return 'a policy that allows it';
  }
}

/**
 * The HTTP client appends "<METHOD> <url> failed." to a socket error with no separator
 * ("connect ECONNREFUSED 127.0.0.1:1POST http://..."); the query (signed parameters) is dropped.
 */
export function tidyMessage(m: string): string {
  const x = /(GET|POST|PUT|DELETE|PATCH|HEAD) (https?:\/\/[^\s?]+)(?:\?\S*)? failed\.?$/.exec(m);
  return x ? `${m.slice(0, x.index).replace(/[.\s]+$/, '')} (${x[1]} ${x[2]})` : m;
}

/**
 * A RAM denial, whatever its HTTP status: RAM denials often arrive as 400. Known codes (NoPermission, Forbidden.*,
 * StatusForbidden, ErrorCheckAcl), ACK's "RAM policy Forbidden for action cs:X", or an AccessDeniedDetail.
 */
export function isDenial(status: number | undefined, code: string, message: string, f: SdkErrorFields = {}): boolean {
  if (status === 403) return true;
  if (status !== 400 && status !== 401 && status !== 404 && status !== undefined) return false;
  return code === 'NoPermission' || code.startsWith('Forbidden') || code === 'StatusForbidden' || code === 'ErrorCheckAcl'
    || /RAM policy Forbidden/i.test(message) || Boolean(f.accessDeniedDetail?.AuthAction ?? f.data?.AccessDeniedDetail?.AuthAction);
}

/** A typed error carrying Code, HTTP status, RequestId and Recommend; never any credential. */
export function cloudError(e: unknown, action: string): VnodeError {
  if (e instanceof VnodeError) return e;
  const f = sdkFields(e);
  const code = f.code ?? f.data?.Code ?? (isNetworkError(e) ? 'NetworkError' : 'CloudError');
  const status = f.statusCode;
  const requestId = f.requestId ?? f.data?.RequestId;
  const recommend = f.data?.Recommend;
  const apiMessage = tidyMessage((f.data?.Message ?? f.message ?? String(e)).split('\n')[0]!.replace(/^[^:]*code: \d+, /, ''));
  const details: Record<string, unknown> = { code, status, requestId, recommend, action };
  if (isDenial(status, code, apiMessage, f)) {
    const denied = f.accessDeniedDetail?.AuthAction ?? f.data?.AccessDeniedDetail?.AuthAction ?? /for action ([a-z0-9-]+:[A-Za-z0-9*]+)/.exec(apiMessage)?.[1] ?? action;
    return operationError(code, `${action}: permission denied for ${denied} (${code}${requestId ? `, RequestId ${requestId}` : ''})`, {
      hint: `grant ${denied} to the caller, e.g. attach the system policy ${policyFor(denied)}`, cause: e, details: { ...details, denied },
    });
  }
  if (status === undefined && /credential/i.test(apiMessage) && !isNetworkError(e)) {
    return new VnodeError('usage', 'NoCredentials', `${action}: no usable Alibaba Cloud credentials (${apiMessage})`, {
      hint: 'set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or pass --profile <name>', cause: e, details,
    });
  }
  if (code === 'InvalidAccessKeyId.NotFound' || code === 'InvalidAccessKeyId') {
    return operationError(code, `${action}: the AccessKey ID is not known to Alibaba Cloud (${code})`, { hint: 'check ALIBABA_CLOUD_ACCESS_KEY_ID or --profile', cause: e, details });
  }
  if (code === 'SignatureDoesNotMatch') {
    return operationError(code, `${action}: the AccessKey secret does not match its ID (SignatureDoesNotMatch)`, { hint: 'check ALIBABA_CLOUD_ACCESS_KEY_SECRET or the profile\'s secret', cause: e, details });
  }
  if (code === 'NetworkError' || isNetworkError(e)) {
    return operationError(code, `${action}: cannot reach the Alibaba Cloud endpoint: ${apiMessage}`, { hint: 'check the network, or VNODE_ENDPOINT_* if set', cause: e, details });
  }
  const hint = code === 'EntityNotExist.Role' && action.startsWith('cs:')
    ? 'a new account: authorize ACK\'s service roles once in the ACK console (Cloud Resource Access Authorization); `vnode doctor` names each one missing'
    : code === 'ServiceNotEnabled' || code === 'ErrorNotEnabled'
    ? `the service is not activated for this account: \`vnode doctor\` says what is missing${action.startsWith('cs:') ? ' (ACK: --activate-ack, or its console)' : ''}`
    : recommend ? `see ${recommend}` : undefined;
  return operationError(code, `${action}: ${code}${status ? ` (HTTP ${status})` : ''}: ${apiMessage}${requestId ? ` [RequestId ${requestId}]` : ''}`, {
    ...(hint ? { hint } : {}), cause: e, details,
  });
}

/** The RAM action a typed cloud error was denied, or undefined when it is no denial. */
export function deniedAction(e: unknown): string | undefined {
  const d = (e as VnodeError | undefined)?.details?.denied;
  return typeof d === 'string' ? d : undefined;
}
