import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Extensions, SubjectAlternativeName, id_ce_subjectAltName } from '@peculiar/asn1-x509';
import { AuthorizationV1Api, CertificatesV1Api, type KubeConfig, type V1CertificateSigningRequest } from '@kubernetes/client-node';

/** vnode-approver's rule, as its source has it: what a virtual node's client-certificate request must look like. */
export const VNODE_SIGNER = 'kubernetes.io/kube-apiserver-client';
export const VNODE_ORG = 'system:vnodes';
export const VNODE_CN_PREFIX = 'system:vnode';
export const VNODE_USAGES = ['digital signature', 'key encipherment', 'client auth'];

const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

export interface CsrSubject {
  commonName: string;
  organizations: string[];
  /** DNS names, emails, IPs or URIs requested. */
  sanCount: number;
}

export function parseCsrPem(pem: string): CsrSubject {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const csr = AsnConvert.parse(Buffer.from(b64, 'base64'), CertificationRequest);
  const info = csr.certificationRequestInfo;
  let commonName = '';
  const organizations: string[] = [];
  for (const rdn of info.subject) {
    for (const atv of rdn) {
      const v = atv.value.toString();
      if (atv.type === OID_CN) commonName = v;
      if (atv.type === OID_O) organizations.push(v);
    }
  }
  let sanCount = 0;
  for (const attr of info.attributes) {
    if (attr.type !== OID_EXTENSION_REQUEST) continue;
    for (const raw of attr.values) {
      for (const ext of AsnConvert.parse(raw, Extensions)) {
        if (ext.extnID !== id_ce_subjectAltName) continue;
        const san = AsnConvert.parse(ext.extnValue, SubjectAlternativeName);
        sanCount += san.filter((n) => n.dNSName || n.rfc822Name || n.iPAddress || n.uniformResourceIdentifier).length;
      }
    }
  }
  return { commonName, organizations, sanCount };
}

export type Recognition = { ok: true; subresource: 'selfnodeclient' | 'nodeclient' } | { ok: false; reason: string };

/** Is this a virtual node's certificate request at all; and which permission its requester must hold. */
export function recognize(csr: V1CertificateSigningRequest): Recognition {
  const spec = csr.spec;
  if (spec.signerName !== VNODE_SIGNER) return { ok: false, reason: `signer ${spec.signerName}` };
  let subject: CsrSubject;
  try {
    subject = parseCsrPem(Buffer.from(spec.request, 'base64').toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `unparsable request: ${(e as Error).message}` };
  }
  if (subject.organizations.length !== 1 || subject.organizations[0] !== VNODE_ORG) return { ok: false, reason: `organization ${subject.organizations.join(',')}` };
  if (!subject.commonName.startsWith(VNODE_CN_PREFIX)) return { ok: false, reason: `common name ${subject.commonName}` };
  if (subject.sanCount > 0) return { ok: false, reason: 'subject alternative names requested' };
  const usages = [...(spec.usages ?? [])].sort();
  if (usages.length !== VNODE_USAGES.length || ![...VNODE_USAGES].sort().every((u, i) => usages[i] === u)) {
    return { ok: false, reason: `usages ${usages.join(',')}` };
  }
  return { ok: true, subresource: spec.username === subject.commonName ? 'selfnodeclient' : 'nodeclient' };
}

export type ApprovalOutcome = 'approved' | 'already-decided' | 'not-a-vnode-csr' | 'not-authorized';

/** Plays vnode-approver for one CSR, with the approver's own credentials (a SubjectAccessReview decides). */
export async function approveVnodeCsr(kc: KubeConfig, name: string): Promise<ApprovalOutcome> {
  const certs = kc.makeApiClient(CertificatesV1Api);
  // the approver's role grants list/watch, not get: it sees CSRs as its informer would
  const listed = await certs.listCertificateSigningRequest({ fieldSelector: `metadata.name=${name}` });
  const csr = listed.items[0];
  if (!csr) throw new Error(`CertificateSigningRequest ${name} not found`);
  if ((csr.status?.conditions ?? []).some((c) => c.type === 'Approved' || c.type === 'Denied')) return 'already-decided';
  const r = recognize(csr);
  if (!r.ok) return 'not-a-vnode-csr';
  const sar = await kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: {
        user: csr.spec.username, uid: csr.spec.uid, groups: csr.spec.groups, extra: csr.spec.extra,
        resourceAttributes: { group: 'certificates.k8s.io', resource: 'certificatesigningrequests', verb: 'create', subresource: r.subresource },
      },
    },
  });
  if (!sar.status?.allowed) return 'not-authorized';
  csr.status = {
    ...csr.status,
    conditions: [...(csr.status?.conditions ?? []), {
      type: 'Approved', status: 'True', reason: 'AutoApproved', message: 'Auto approving vnode client certificate after SubjectAccessReview.',
      lastUpdateTime: new Date(),
    }],
  };
  await certs.replaceCertificateSigningRequestApproval({ name, body: csr });
  return 'approved';
}
