import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.js';

/** encodeURIComponent plus the characters Alibaba Cloud also escapes. */
export function acsEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** RPC v1 escapes like Java's URLEncoder with RFC 3986 fixes. */
function popEncode(s: string): string {
  return acsEncode(s).replace(/%7E/g, '~');
}

export interface SignedRequest {
  method: string;
  /** Path and raw query, as received. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export type SecretLookup = (accessKeyId: string) => string | undefined;

export const CLOCK_SKEW_MS = 15 * 60_000;

function header(req: SignedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Decoded query pairs; a bare key gets an empty value. */
function queryPairs(url: string): [string, string][] {
  const q = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  if (q === '') return [];
  return q.split('&').filter((p) => p !== '').map((p) => {
    const i = p.indexOf('=');
    const k = i < 0 ? p : p.slice(0, i);
    const v = i < 0 ? '' : p.slice(i + 1);
    const dec = (s: string): string => decodeURIComponent(s.replace(/\+/g, '%20'));
    return [dec(k), dec(v)];
  });
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface Verified {
  accessKeyId: string;
  nonce: string;
  timestamp: number;
}

/** ACS3-HMAC-SHA256, the SDKs' default signature. */
export function verifyV3(req: SignedRequest, secretOf: SecretLookup, now: number): Verified {
  const auth = header(req, 'authorization') ?? '';
  const m = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) throw new ApiError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.');
  const [, akId, signedHeaders, signature] = m as unknown as [string, string, string, string];
  const secret = secretOf(akId);
  if (secret === undefined) throw new ApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
  const names = signedHeaders.split(';');
  for (const required of ['host', 'x-acs-action', 'x-acs-content-sha256', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-version']) {
    if (!names.includes(required)) throw new ApiError(400, 'IncompleteSignature', `The request signature does not sign header ${required}.`);
  }
  const payloadHash = createHash('sha256').update(req.body).digest('hex');
  if (header(req, 'x-acs-content-sha256') !== payloadHash) {
    throw new ApiError(400, 'SignatureDoesNotMatch', 'The request body does not match x-acs-content-sha256.');
  }
  const path = req.url.split('?')[0] || '/';
  const canonicalQuery = queryPairs(req.url).sort(([a], [b]) => byCodeUnit(a, b)).map(([k, v]) => `${acsEncode(k)}=${acsEncode(v)}`).join('&');
  const canonicalHeaders = [...names].sort(byCodeUnit).map((n) => `${n}:${(header(req, n) ?? '').trim()}\n`).join('');
  const canonicalRequest = [req.method, path, canonicalQuery, canonicalHeaders, names.join(';'), payloadHash].join('\n');
  const stringToSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  const expected = createHmac('sha256', secret).update(stringToSign).digest('hex');
  if (!safeEqualHex(expected, signature)) {
    throw new ApiError(400, 'SignatureDoesNotMatch', `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`);
  }
  const date = header(req, 'x-acs-date') ?? '';
  const timestamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(date) ? Date.parse(date) : NaN;
  if (Number.isNaN(timestamp)) throw new ApiError(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.');
  if (Math.abs(now - timestamp) > CLOCK_SKEW_MS) throw new ApiError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
  return { accessKeyId: akId, nonce: header(req, 'x-acs-signature-nonce') ?? '', timestamp };
}

/** RPC v1 (HMAC-SHA1 over the query), sent when a client asks for signatureAlgorithm v2. */
export function verifyRpcV1(req: SignedRequest, params: Map<string, string>, secretOf: SecretLookup, now: number): Verified {
  const akId = params.get('AccessKeyId');
  const signature = params.get('Signature');
  if (!akId || !signature) throw new ApiError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.');
  const secret = secretOf(akId);
  if (secret === undefined) throw new ApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
  if (params.get('SignatureMethod') !== 'HMAC-SHA1') throw new ApiError(400, 'InvalidSignatureMethod', 'Specified signature method is not supported.');
  const canonical = [...params.entries()].filter(([k]) => k !== 'Signature').sort(([a], [b]) => byCodeUnit(a, b))
    .map(([k, v]) => `${popEncode(k)}=${popEncode(v)}`).join('&');
  const stringToSign = `${req.method}&${popEncode('/')}&${popEncode(canonical)}`;
  const expected = createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
  if (!safeEqualHex(expected, signature)) {
    throw new ApiError(400, 'SignatureDoesNotMatch', `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`);
  }
  const ts = params.get('Timestamp') ?? '';
  const timestamp = Date.parse(ts);
  if (Number.isNaN(timestamp)) throw new ApiError(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.');
  if (Math.abs(now - timestamp) > CLOCK_SKEW_MS) throw new ApiError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
  return { accessKeyId: akId, nonce: params.get('SignatureNonce') ?? '', timestamp };
}

export { queryPairs };
