import { isIP } from 'node:net';

export interface WebhookCerts {
  caPem: string;
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
/** The serving certificate is renewed by `scheduling enable` when less than this is left. */
export const RENEW_BEFORE_MS = 90 * DAY;
const CA_DAYS = 3650;
const CERT_DAYS = 730;

function serial(): string {
  // positive 64-bit serial
  const b = crypto.getRandomValues(new Uint8Array(8));
  b[0]! &= 0x7f;
  return Buffer.from(b).toString('hex');
}

/** A CA of its own (trusted only through the webhook's caBundle) and a serving certificate for the given names. */
export async function generateWebhookCerts(hosts: string[], now = new Date()): Promise<WebhookCerts> {
  // tsyringe, under @peculiar/x509, needs the Reflect metadata API
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const caKeys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: 'CN=vnode-scheduling-ca,O=vnode', notBefore: now, notAfter: new Date(now.getTime() + CA_DAYS * DAY), keys: caKeys, signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const notAfter = new Date(now.getTime() + CERT_DAYS * DAY);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${hosts[0] ?? 'vnode-scheduling'}`, issuer: ca.subject, notBefore: now, notAfter,
    publicKey: keys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hosts.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  return { caPem: ca.toString('pem'), certPem: cert.toString('pem'), keyPem, notAfter };
}

/** Names and expiry of a PEM certificate, read with Node's own parser. */
export async function certFacts(certPem: string): Promise<{ notAfter: Date; hosts: string[] }> {
  const { X509Certificate } = await import('node:crypto');
  const c = new X509Certificate(certPem);
  const hosts = (c.subjectAltName ?? '').split(', ').map((s) => s.replace(/^(DNS|IP Address):/, '')).filter(Boolean);
  return { notAfter: new Date(c.validTo), hosts };
}
