//! `.p7m` as real signers write it (issue 18, items 1 and 2): files made by `openssl cms` at
//! test time (`tests/fixtures/p7m/make-p7m.sh`), reshaped by DER surgery where openssl does
//! not emit the form (duplicate SET OF members, `[1] other` revocation info, countersignatures,
//! back-dated signing times), re-signed with `openssl dgst -sign` where the signed bytes change.

use std::process::Command;

use chrono::{TimeZone, Utc};
use protocollo::*;

use crate::common::{files, read};

const CONTENT: &[u8] = b"Documento firmato digitalmente per il protocollo.\n";

fn trusted() -> P7mVerifier {
    P7mVerifier::new(load_certificates(&read("ca.pem")).unwrap())
        .with_intermediates(load_certificates(&read("int.pem")).unwrap())
}

/// A certificate file as DER.
fn cert_der(name: &str) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(files().unwrap().join(name))
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

/// `openssl dgst -<md> -sign key` over `data` (PKCS#1 v1.5 for RSA, DER ECDSA for EC).
fn openssl_sign(key: &str, md: &str, data: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tbs");
    let sig = dir.path().join("sig");
    std::fs::write(&input, data).unwrap();
    let st = Command::new("openssl")
        .arg("dgst")
        .arg(format!("-{md}"))
        .arg("-sign")
        .arg(files().unwrap().join(key))
        .arg("-out")
        .arg(&sig)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    std::fs::read(sig).unwrap()
}

// ---------------------------------------------------------------- a small DER tree, for surgery

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Prim(u8, Vec<u8>),
    Cons(u8, Vec<Node>),
}

fn parse_one(b: &[u8], pos: &mut usize) -> Node {
    let tag = b[*pos];
    let l = b[*pos + 1];
    let mut p = *pos + 2;
    let len = if l < 0x80 {
        usize::from(l)
    } else {
        let n = usize::from(l & 0x7f);
        let mut v = 0usize;
        for _ in 0..n {
            v = (v << 8) | usize::from(b[p]);
            p += 1;
        }
        v
    };
    let content = &b[p..p + len];
    *pos = p + len;
    if tag & 0x20 != 0 {
        let mut kids = Vec::new();
        let mut q = 0;
        while q < content.len() {
            kids.push(parse_one(content, &mut q));
        }
        Node::Cons(tag, kids)
    } else {
        Node::Prim(tag, content.to_vec())
    }
}

fn parse(b: &[u8]) -> Node {
    let mut pos = 0;
    let n = parse_one(b, &mut pos);
    assert_eq!(pos, b.len());
    n
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

impl Node {
    fn encode(&self) -> Vec<u8> {
        match self {
            Node::Prim(t, c) => tlv(*t, c),
            Node::Cons(t, kids) => tlv(*t, &kids.iter().flat_map(Node::encode).collect::<Vec<_>>()),
        }
    }
    fn kids(&mut self) -> &mut Vec<Node> {
        match self {
            Node::Cons(_, k) => k,
            Node::Prim(..) => panic!("primitive"),
        }
    }
    fn tag(&self) -> u8 {
        match self {
            Node::Prim(t, _) | Node::Cons(t, _) => *t,
        }
    }
    fn child(&mut self, tag: u8) -> &mut Node {
        self.kids().iter_mut().find(|k| k.tag() == tag).unwrap()
    }
}

/// The SignedData node of a ContentInfo.
fn signed_data(ci: &mut Node) -> &mut Node {
    &mut ci.kids()[1].kids()[0]
}

fn signer_infos(ci: &mut Node) -> &mut Vec<Node> {
    signed_data(ci).kids().last_mut().unwrap().kids()
}

const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const OID_SIGNING_TIME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05];
const OID_COUNTERSIGNATURE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x06];
const OID_SMIME_CAPS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0f];
const OID_SCV2: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x2f,
];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_RI_OCSP: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x10, 0x02];

fn oid(bytes: &[u8]) -> Node {
    Node::Prim(0x06, bytes.to_vec())
}

fn attr_oid(a: &Node) -> Vec<u8> {
    match a {
        Node::Cons(_, k) => match &k[0] {
            Node::Prim(_, o) => o.clone(),
            Node::Cons(..) => panic!(),
        },
        Node::Prim(..) => panic!(),
    }
}

/// The DER SET OF of these attribute nodes (sorted encodings): the bytes a signer signs.
fn der_set(members: &[Node]) -> Vec<u8> {
    let mut enc: Vec<Vec<u8>> = members.iter().map(Node::encode).collect();
    enc.sort();
    tlv(0x31, &enc.concat())
}

fn signed_attrs(si: &mut Node) -> &mut Vec<Node> {
    si.child(0xa0).kids()
}

fn set_signature(si: &mut Node, sig: Vec<u8>) {
    *si.child(0x04) = Node::Prim(0x04, sig);
}

// ------------------------------------------------------------------------------------ tests

#[test]
fn three_signers_with_duplicate_digest_algorithms() {
    if files().is_none() {
        return;
    }
    let mut ci = parse(&read("three.p7m"));
    let algs = signed_data(&mut ci).kids()[1].kids();
    assert_eq!(algs.len(), 1, "openssl lists sha256 once");
    let sha256 = algs[0].clone();
    algs.push(sha256.clone());
    algs.push(sha256);
    let file = ci.encode();
    let v = trusted().verify(&file).unwrap();
    assert_eq!(v.content, CONTENT);
    assert_eq!(v.layers[0].len(), 3);
    let names: Vec<_> = v.layers[0].iter().map(|s| s.subject.clone()).collect();
    for who in ["Mario Rossi", "Anna Bianchi", "Giuseppe Verdi"] {
        assert!(names.iter().any(|n| n.contains(who)), "{names:?}");
    }
    // The signatures are still checked: a changed byte in one of them fails that signer.
    let mut bad = parse(&file);
    let si = &mut signer_infos(&mut bad)[2];
    let Node::Prim(_, sig) = si.child(0x04) else {
        panic!()
    };
    sig[10] ^= 1;
    assert!(matches!(
        trusted().verify(&bad.encode()),
        Err(P7mError::BadSignature { signer: 2 })
    ));
}

#[test]
fn ocsp_response_and_v1_crl_in_crls() {
    if files().is_none() {
        return;
    }
    let crl = read("crl-v1.der");
    let mut crl_node = parse(&crl);
    // A v1 CRL: the tbsCertList starts with the signature algorithm, no version INTEGER.
    assert_eq!(crl_node.kids()[0].kids()[0].tag(), 0x30);
    let ocsp = read("ocsp-resp.der");
    let other = Node::Cons(0xa1, vec![oid(OID_RI_OCSP), parse(&ocsp)]);
    let mut ci = parse(&read("rsa.p7m"));
    let sd = signed_data(&mut ci).kids();
    let at = sd.len() - 1;
    sd.insert(at, Node::Cons(0xa1, vec![crl_node, other]));
    let v = trusted().verify(&ci.encode()).unwrap();
    assert_eq!(v.content, CONTENT);
    assert_eq!(v.revocation_info.len(), 2);
    match &v.revocation_info[0] {
        RevocationInfo::Crl {
            issuer, version, ..
        } => {
            assert_eq!(*version, 1);
            assert!(issuer.contains("Test Root CA"), "{issuer}");
        }
        other => panic!("{other:?}"),
    }
    match &v.revocation_info[1] {
        RevocationInfo::Other { format, info_der } => {
            assert_eq!(*format, OID_RI_OCSP_RESPONSE);
            assert_eq!(info_der, &ocsp);
        }
        other => panic!("{other:?}"),
    }
    // An unknown RevocationInfoChoice tag is an encoding error, not a panic or a pass.
    let mut ci = parse(&read("rsa.p7m"));
    let sd = signed_data(&mut ci).kids();
    let at = sd.len() - 1;
    sd.insert(at, Node::Cons(0xa1, vec![Node::Prim(0x82, vec![1])]));
    assert!(matches!(
        trusted().verify(&ci.encode()),
        Err(P7mError::Encoding(_))
    ));
}

#[test]
fn detached_signature_with_its_content() {
    if files().is_none() {
        return;
    }
    let p7s = read("detached.p7s");
    assert_eq!(trusted().verify(&p7s), Err(P7mError::Detached));
    let v = trusted().verify_detached(&p7s, CONTENT).unwrap();
    assert_eq!(v.content, CONTENT);
    assert!(v.layers[0][0].subject.contains("Mario Rossi"));
    // Another document under the same signature.
    let mut swapped = CONTENT.to_vec();
    swapped[0] = b'X';
    assert_eq!(
        trusted().verify_detached(&p7s, &swapped),
        Err(P7mError::MessageDigestMismatch { signer: 0 })
    );
    assert_eq!(
        trusted().verify_detached(&p7s, b""),
        Err(P7mError::MessageDigestMismatch { signer: 0 })
    );
    // -nodetach: the content given must be the one inside.
    let attached = read("rsa.p7m");
    assert_eq!(
        trusted()
            .verify_detached(&attached, CONTENT)
            .unwrap()
            .content,
        CONTENT
    );
    assert_eq!(
        trusted().verify_detached(&attached, &swapped),
        Err(P7mError::ContentMismatch)
    );
}

/// A CAdES countersignature by the EC signer (`ec.key`) over `si`'s signature value.
fn countersign(si: &mut Node, tamper: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>)) {
    let Node::Prim(_, parent_sig) = si.child(0x04).clone() else {
        panic!()
    };
    let cert = cert_der("ec.pem");
    let mut cert_node = parse(&cert);
    let tbs = cert_node.kids()[0].kids().clone();
    let (serial, issuer) = (tbs[1].clone(), tbs[3].clone());
    let mut md = ring::digest::digest(&ring::digest::SHA256, &parent_sig)
        .as_ref()
        .to_vec();
    let cert_hash = ring::digest::digest(&ring::digest::SHA256, &cert)
        .as_ref()
        .to_vec();
    let mut sig_holder = Vec::new();
    tamper(&mut md, &mut sig_holder);
    let attrs = vec![
        Node::Cons(
            0x30,
            vec![
                oid(OID_MESSAGE_DIGEST),
                Node::Cons(0x31, vec![Node::Prim(0x04, md)]),
            ],
        ),
        Node::Cons(
            0x30,
            vec![
                oid(OID_SCV2),
                Node::Cons(
                    0x31,
                    vec![Node::Cons(
                        0x30,
                        vec![Node::Cons(
                            0x30,
                            vec![Node::Cons(0x30, vec![Node::Prim(0x04, cert_hash)])],
                        )],
                    )],
                ),
            ],
        ),
    ];
    let mut sig = openssl_sign("ec.key", "sha256", &der_set(&attrs));
    if !sig_holder.is_empty() {
        let n = sig.len();
        sig[n - 3] ^= 0x55;
    }
    let csi = Node::Cons(
        0x30,
        vec![
            Node::Prim(0x02, vec![1]),
            Node::Cons(0x30, vec![issuer, serial]),
            Node::Cons(0x30, vec![oid(OID_SHA256)]),
            Node::Cons(0xa0, attrs),
            Node::Cons(0x30, vec![oid(OID_ECDSA_SHA256)]),
            Node::Prim(0x04, sig),
        ],
    );
    si.kids().push(Node::Cons(
        0xa1,
        vec![Node::Cons(
            0x30,
            vec![oid(OID_COUNTERSIGNATURE), Node::Cons(0x31, vec![csi])],
        )],
    ));
}

#[test]
fn countersignature_verified_and_reported() {
    if files().is_none() {
        return;
    }
    let file = |tamper: fn(&mut Vec<u8>, &mut Vec<u8>)| {
        let mut ci = parse(&read("parallel.p7m"));
        countersign(&mut signer_infos(&mut ci)[0], tamper);
        ci.encode()
    };
    let v = trusted().verify(&file(|_, _| {})).unwrap();
    let signer = &v.layers[0][0];
    assert_eq!(signer.countersignatures.len(), 1);
    let cs = signer.countersignatures[0].result.as_ref().unwrap();
    assert!(cs.subject.contains("Anna Bianchi"), "{}", cs.subject);
    assert!(cs.chain_verified);
    assert!(v.layers[0][1].countersignatures.is_empty());

    // Tampered countersignature value: the signer still verifies, the countersignature is
    // reported invalid.
    let v = trusted().verify(&file(|_, s| s.push(1))).unwrap();
    assert_eq!(
        v.layers[0][0].countersignatures[0].result,
        Err(P7mError::BadSignature { signer: 0 })
    );
    // A countersignature over something else than the signature value.
    let v = trusted().verify(&file(|md, _| md[0] ^= 1)).unwrap();
    assert_eq!(
        v.layers[0][0].countersignatures[0].result,
        Err(P7mError::MessageDigestMismatch { signer: 0 })
    );
}

#[test]
fn signed_attributes_are_digested_as_der_whatever_the_order() {
    if files().is_none() {
        return;
    }
    // Members out of DER order (as BER-era tools write them): re-sorted for the digest, so
    // the signature made over the DER form still verifies.
    let mut ci = parse(&read("rsa.p7m"));
    let attrs = signed_attrs(&mut signer_infos(&mut ci)[0]);
    let before = attrs.clone();
    attrs.reverse();
    assert_ne!(*attrs, before);
    let v = trusted().verify(&ci.encode()).unwrap();
    assert_eq!(v.content, CONTENT);

    // A duplicated member is digested as it is (not merged away): the signature fails.
    let mut ci = parse(&read("rsa.p7m"));
    let attrs = signed_attrs(&mut signer_infos(&mut ci)[0]);
    let caps = attrs
        .iter()
        .find(|a| attr_oid(a) == OID_SMIME_CAPS)
        .unwrap()
        .clone();
    attrs.push(caps);
    assert_eq!(
        trusted().verify(&ci.encode()),
        Err(P7mError::BadSignature { signer: 0 })
    );
    // Two message-digest attributes: refused before any digest is trusted.
    let mut ci = parse(&read("rsa.p7m"));
    let attrs = signed_attrs(&mut signer_infos(&mut ci)[0]);
    let md = attrs
        .iter()
        .find(|a| attr_oid(a) == OID_MESSAGE_DIGEST)
        .unwrap()
        .clone();
    attrs.push(md);
    assert_eq!(
        trusted().verify(&ci.encode()),
        Err(P7mError::SignedAttribute {
            signer: 0,
            attribute: "message-digest"
        })
    );
}

fn policy(sha1: bool, rsa1024: bool, trust_signing_time: bool) -> LegacyPolicy {
    LegacyPolicy {
        allow_sha1: sha1,
        allow_rsa1024: rsa1024,
        trust_signing_time,
        ..LegacyPolicy::default()
    }
}

fn with(p: LegacyPolicy) -> P7mVerifier {
    trusted().with_options(VerifyOptions::legacy(p))
}

#[test]
fn rsa1024_refused_by_default_and_accepted_only_before_the_deadline() {
    if files().is_none() {
        return;
    }
    let f = read("rsa1024.p7m");
    let e = trusted().verify(&f).unwrap_err();
    assert_eq!(
        e,
        P7mError::WeakRsaKey {
            signer: 0,
            bits: 1024
        }
    );
    assert!(
        e.to_string()
            .contains("RSA key of 1024 bits is below the 2048-bit minimum"),
        "{e}"
    );
    // A policy for SHA-1 only does not accept RSA-1024.
    assert_eq!(
        with(policy(true, false, true)).verify(&f).unwrap_err(),
        P7mError::WeakRsaKey {
            signer: 0,
            bits: 1024
        }
    );
    // Allowed, but the signing time (now) is after the deadline.
    let e = with(policy(false, true, true)).verify(&f).unwrap_err();
    assert!(
        matches!(
            e,
            P7mError::LegacyTooLate {
                algorithm: LegacyAlgorithm::Rsa1024,
                ..
            }
        ),
        "{e}"
    );
    // Allowed, signing time not trusted, no trusted time.
    assert!(matches!(
        with(policy(false, true, false)).verify(&f),
        Err(P7mError::LegacyTooLate { .. })
    ));
    // A trusted time before the deadline (the certificate is still judged at signing time).
    let t = Utc.with_ymd_and_hms(2013, 6, 1, 0, 0, 0).unwrap();
    let v = with(LegacyPolicy {
        trusted_time: Some(t),
        ..policy(false, true, false)
    })
    .verify(&f)
    .unwrap();
    let s = &v.layers[0][0];
    assert_eq!(
        s.legacy,
        vec![LegacyAcceptance {
            algorithm: LegacyAlgorithm::Rsa1024,
            time: t,
            source: LegacyTimeSource::Trusted,
            deadline: rsa1024_deadline(),
        }]
    );
    assert!(s.legacy[0].to_string().contains("trusted time"));
    // A trusted time after the deadline.
    assert!(matches!(
        with(LegacyPolicy {
            trusted_time: Some(Utc.with_ymd_and_hms(2014, 1, 1, 0, 0, 0).unwrap()),
            ..policy(false, true, true)
        })
        .verify(&f),
        Err(P7mError::LegacyTooLate { .. })
    ));
}

#[test]
fn sha1_refused_by_default_and_accepted_only_before_the_deadline() {
    if files().is_none() {
        return;
    }
    let f = read("sha1.p7m");
    let e = trusted().verify(&f).unwrap_err();
    assert_eq!(e, P7mError::Sha1Refused { signer: 0 });
    assert!(e.to_string().contains("SHA-1 digest refused"), "{e}");
    assert_eq!(
        with(policy(false, true, true)).verify(&f).unwrap_err(),
        P7mError::Sha1Refused { signer: 0 }
    );
    assert!(matches!(
        with(policy(true, false, true)).verify(&f),
        Err(P7mError::LegacyTooLate {
            algorithm: LegacyAlgorithm::Sha1,
            ..
        })
    ));
    let t = Utc.with_ymd_and_hms(2011, 6, 30, 12, 0, 0).unwrap();
    let v = with(LegacyPolicy {
        trusted_time: Some(t),
        ..policy(true, false, false)
    })
    .verify(&f)
    .unwrap();
    assert_eq!(v.layers[0][0].legacy[0].algorithm, LegacyAlgorithm::Sha1);
    assert_eq!(v.layers[0][0].legacy[0].deadline, sha1_deadline());
    // 1 July 2011 in Rome is already too late.
    assert!(matches!(
        with(LegacyPolicy {
            trusted_time: Some(Utc.with_ymd_and_hms(2011, 6, 30, 22, 0, 0).unwrap()),
            ..policy(true, false, false)
        })
        .verify(&f),
        Err(P7mError::LegacyTooLate { .. })
    ));
    // The SHA-1 content digest is still checked under the policy.
    let mut bad = f.clone();
    let at = bad.windows(9).position(|w| w == b"Documento").unwrap();
    bad[at] = b'X';
    assert_eq!(
        with(LegacyPolicy {
            trusted_time: Some(t),
            ..policy(true, false, false)
        })
        .verify(&bad),
        Err(P7mError::MessageDigestMismatch { signer: 0 })
    );
}

/// `old.p7m` with its signing time set to `utc_time` and re-signed (SHA-1, RSA-1024) by the
/// signer's key, or not re-signed.
fn back_dated(utc_time: &[u8], resign: bool) -> Vec<u8> {
    let mut ci = parse(&read("old.p7m"));
    let si = &mut signer_infos(&mut ci)[0];
    let attrs = signed_attrs(si);
    let st = attrs
        .iter_mut()
        .find(|a| attr_oid(a) == OID_SIGNING_TIME)
        .unwrap();
    st.kids()[1].kids()[0] = Node::Prim(0x17, utc_time.to_vec());
    let tbs = der_set(attrs);
    if resign {
        set_signature(si, openssl_sign("old.key", "sha1", &tbs));
    }
    ci.encode()
}

#[test]
fn old_sha1_rsa1024_signature_under_the_signing_time() {
    if files().is_none() {
        return;
    }
    let old = P7mVerifier::insecure_without_chain_check();
    let f2010 = back_dated(b"100601120000Z", true);
    // Refused by default, naming the first legacy algorithm met.
    assert_eq!(old.verify(&f2010), Err(P7mError::Sha1Refused { signer: 0 }));
    let both = |trust| {
        old.clone()
            .with_options(VerifyOptions::legacy(policy(true, true, trust)))
    };
    let v = both(true).verify(&f2010).unwrap();
    let s = &v.layers[0][0];
    assert_eq!(
        s.signing_time,
        Some(Utc.with_ymd_and_hms(2010, 6, 1, 12, 0, 0).unwrap())
    );
    let algs: Vec<_> = s.legacy.iter().map(|l| l.algorithm).collect();
    assert_eq!(algs, [LegacyAlgorithm::Sha1, LegacyAlgorithm::Rsa1024]);
    assert!(
        s.legacy
            .iter()
            .all(|l| l.source == LegacyTimeSource::SigningTime)
    );
    // The signing time alone is not trusted unless the caller says so.
    assert!(matches!(
        both(false).verify(&f2010),
        Err(P7mError::LegacyTooLate { .. })
    ));
    // SHA-1 only allowed: the 1024-bit key is named.
    assert_eq!(
        old.clone()
            .with_options(VerifyOptions::legacy(policy(true, false, true)))
            .verify(&f2010),
        Err(P7mError::WeakRsaKey {
            signer: 0,
            bits: 1024
        })
    );
    // Signed in 2012: SHA-1 is too late, even though RSA-1024 would still pass.
    let f2012 = back_dated(b"120601120000Z", true);
    assert!(matches!(
        both(true).verify(&f2012),
        Err(P7mError::LegacyTooLate {
            algorithm: LegacyAlgorithm::Sha1,
            ..
        })
    ));
    // A signing time moved back without the signer's key: the signature fails.
    let forged = back_dated(b"100601120000Z", false);
    assert_eq!(
        both(true).verify(&forged),
        Err(P7mError::BadSignature { signer: 0 })
    );
}

#[test]
fn nested_envelopes_still_verify() {
    if files().is_none() {
        return;
    }
    let v = trusted().verify(&read("nested.p7m.p7m")).unwrap();
    assert_eq!(v.layers.len(), 2);
    assert_eq!(v.content, CONTENT);
    let v = trusted().verify(&read("ber.p7m")).unwrap();
    assert_eq!(v.content, CONTENT);
}
