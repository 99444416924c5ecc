//! BER to DER for PKCS#12 files from Java tooling.
//!
//! Java-based issuers (the OCES II portal among them) write PKCS#12 in BER: indefinite lengths and OCTET
//! STRINGs split into chunks. The PKCS#12 reader we use (`p12-keystore`) accepts DER only. This module walks
//! the PKCS#12 structure with asn1-rs' BER parser and writes the same values back in DER.
//!
//! The walk has to know the PKCS#12 schema in two places, which is why it is not a generic re-encoder:
//! - some OCTET STRINGs *contain* further encoded structures (the authenticated safe, the safe contents of a
//!   `data` ContentInfo), which are BER too and must be normalised inside;
//! - `encryptedContent` is an IMPLICIT `[0]` OCTET STRING: in BER it arrives constructed (chunks), in DER it
//!   must become one primitive `[0]`.
//!
//! Everything else (certificates, encrypted keys, attributes) is re-encoded element by element, keeping the
//! order of elements: certificates themselves are embedded as OCTET STRING *contents* and stay byte-for-byte
//! untouched, so their signatures remain valid.
//!
//! The MAC covers the authenticated safe's *content octets*; normalising the structure inside them changes
//! those bytes, so the MAC is verified here on the original octets and the normalised file is handed on
//! without its MAC.

use asn1_rs::{oid, Any, Class, FromBer, Header, Length, Oid, Tag, ToDer};
use hmac::{KeyInit, Mac};
use pkcs12::kdf::{derive_key_utf8, Pkcs12KeyType};

/// How deep structures may nest before the file is rejected (protects the stack on hostile input).
const MAX_DEPTH: usize = 40;

const OID_DATA: Oid<'static> = oid!(1.2.840 .113549 .1 .7 .1);
const OID_ENCRYPTED_DATA: Oid<'static> = oid!(1.2.840 .113549 .1 .7 .6);
const OID_SHA1: Oid<'static> = oid!(1.3.14 .3 .2 .26);
const OID_SHA224: Oid<'static> = oid!(2.16.840 .1 .101 .3 .4 .2 .4);
const OID_SHA256: Oid<'static> = oid!(2.16.840 .1 .101 .3 .4 .2 .1);
const OID_SHA384: Oid<'static> = oid!(2.16.840 .1 .101 .3 .4 .2 .2);
const OID_SHA512: Oid<'static> = oid!(2.16.840 .1 .101 .3 .4 .2 .3);

/// Why a file could not be read as PKCS#12 structure. The caller turns it into a message naming the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StructureError {
    /// The data ends in the middle of an element.
    Truncated,
    /// Bytes follow the end of the PKCS#12 structure.
    TrailingData,
    /// The data is not the PKCS#12 structure (says what was expected where).
    Malformed(String),
}

impl StructureError {
    fn malformed(what: impl Into<String>) -> Self {
        StructureError::Malformed(what.into())
    }
}

impl From<asn1_rs::Err<asn1_rs::Error>> for StructureError {
    fn from(err: asn1_rs::Err<asn1_rs::Error>) -> Self {
        match err {
            asn1_rs::Err::Incomplete(_) => StructureError::Truncated,
            asn1_rs::Err::Error(e) | asn1_rs::Err::Failure(e) => match e {
                asn1_rs::Error::Incomplete(_) => StructureError::Truncated,
                other => StructureError::malformed(format!("invalid ASN.1 ({other})")),
            },
        }
    }
}

impl From<asn1_rs::SerializeError> for StructureError {
    fn from(err: asn1_rs::SerializeError) -> Self {
        StructureError::malformed(format!("cannot re-encode ({err})"))
    }
}

type Walk<T> = Result<T, StructureError>;

/// The MAC of a PKCS#12 file (`MacData`), as far as verification needs it.
#[derive(Debug, Clone)]
pub(crate) struct MacData {
    digest_algorithm: Oid<'static>,
    digest: Vec<u8>,
    salt: Vec<u8>,
    iterations: u32,
}

/// A PKCS#12 file read with the BER rules and written back in DER.
pub(crate) struct NormalisedPfx {
    /// The whole file in DER, MAC included (equals the input when the input was DER already).
    pub der: Vec<u8>,
    /// The file in DER without its MAC: for the reader after the MAC has been checked here.
    pub der_without_mac: Vec<u8>,
    /// The original content octets of the authenticated safe: what the MAC covers.
    pub mac_covered: Vec<u8>,
    pub mac: Option<MacData>,
}

/// Outcome of checking a MAC.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum MacCheck {
    Valid,
    WrongPassword,
    /// The MAC uses a digest this library does not implement (named by its OID).
    UnsupportedAlgorithm(String),
    /// The MAC parameters are out of range (e.g. an absurd iteration count).
    BadParameters(String),
}

/// Reads a PKCS#12 file (`PFX`) in BER or DER and writes it in DER.
pub(crate) fn normalise_pfx(input: &[u8]) -> Walk<NormalisedPfx> {
    let (rest, pfx) = Any::from_ber(input)?;
    if !rest.is_empty() {
        return Err(StructureError::TrailingData);
    }
    expect_universal(&pfx, Tag::Sequence, "the PKCS#12 structure (a SEQUENCE)")?;
    let fields = children(pfx.data)?;
    let [version, auth_safe, mac_data @ ..] = fields.as_slice() else {
        return Err(StructureError::malformed("the PKCS#12 structure is too short"));
    };
    expect_universal(version, Tag::Integer, "the PKCS#12 version")?;
    if version.data != [3] {
        return Err(StructureError::malformed("PKCS#12 version is not 3"));
    }
    if mac_data.len() > 1 {
        return Err(StructureError::malformed("the PKCS#12 structure has unexpected extra fields"));
    }

    let (auth_safe_der, mac_covered) = authenticated_safe(auth_safe)?;
    let version_der = generic(version, 0)?;
    let mac_der = mac_data.first().map(|m| generic(m, 0)).transpose()?;
    let mac = mac_data.first().map(parse_mac_data).transpose()?;

    let without_mac = [version_der.as_slice(), auth_safe_der.as_slice()].concat();
    let der_without_mac = encode(Class::Universal, true, Tag::Sequence, &without_mac)?;
    let der = match &mac_der {
        Some(mac_der) => encode(Class::Universal, true, Tag::Sequence, &[without_mac.as_slice(), mac_der].concat())?,
        None => der_without_mac.clone(),
    };
    Ok(NormalisedPfx { der, der_without_mac, mac_covered, mac })
}

/// Whether `bytes` are exactly one BER (or DER) element, nothing before or after it.
pub(crate) fn is_one_element(bytes: &[u8]) -> bool {
    matches!(Any::from_ber(bytes), Ok((rest, _)) if rest.is_empty())
}

/// Checks the PKCS#12 MAC (RFC 7292 appendix B key derivation, then HMAC) over `data`.
pub(crate) fn verify_mac(mac: &MacData, data: &[u8], password: &str) -> MacCheck {
    // Same cap as p12-keystore: a hostile file must not make us spin for minutes.
    if mac.iterations == 0 || mac.iterations > 1_000_000 {
        return MacCheck::BadParameters(format!("{} MAC iterations", mac.iterations));
    }
    let iterations = mac.iterations as i32;
    macro_rules! check {
        ($digest:ty) => {{
            let size = <$digest as sha2_v011::digest::OutputSizeUser>::output_size();
            let Ok(key) = derive_key_utf8::<$digest>(password, &mac.salt, Pkcs12KeyType::Mac, iterations, size)
            else {
                return MacCheck::BadParameters("the password cannot be encoded as BMPString".into());
            };
            let Ok(mut hmac) = hmac::Hmac::<$digest>::new_from_slice(&key) else {
                return MacCheck::BadParameters("MAC key".into());
            };
            hmac.update(data);
            match hmac.verify_slice(&mac.digest) {
                Ok(()) => MacCheck::Valid,
                Err(_) => MacCheck::WrongPassword,
            }
        }};
    }
    let alg = &mac.digest_algorithm;
    if *alg == OID_SHA1 {
        check!(sha1::Sha1)
    } else if *alg == OID_SHA256 {
        check!(sha2_v011::Sha256)
    } else if *alg == OID_SHA384 {
        check!(sha2_v011::Sha384)
    } else if *alg == OID_SHA512 {
        check!(sha2_v011::Sha512)
    } else if *alg == OID_SHA224 {
        check!(sha2_v011::Sha224)
    } else {
        MacCheck::UnsupportedAlgorithm(alg.to_id_string())
    }
}

/// The PFX's `authSafe`: a `data` ContentInfo whose octets hold the AuthenticatedSafe
/// (`SEQUENCE OF ContentInfo`). Returns its DER and the original octets (what the MAC covers).
fn authenticated_safe(content_info: &Any) -> Walk<(Vec<u8>, Vec<u8>)> {
    let (content_type, content) = content_info_parts(content_info, 0)?;
    if content_type != OID_DATA {
        return Err(StructureError::malformed(
            "the PKCS#12 content is not of type data (public-key integrity mode is not supported)",
        ));
    }
    let content = content.ok_or_else(|| StructureError::malformed("the PKCS#12 content is empty"))?;
    let octets = octet_string(&content, 1)?;
    let safe_der = sequence_of(&octets, 2, content_info_der)?;
    let der = wrap_data_content_info(&safe_der)?;
    Ok((der, octets))
}

/// One ContentInfo inside the authenticated safe: `data` (holding SafeContents) or `encryptedData`.
fn content_info_der(content_info: &Any, depth: usize) -> Walk<Vec<u8>> {
    let (content_type, content) = content_info_parts(content_info, depth)?;
    let Some(content) = content else {
        return generic(content_info, depth);
    };
    if content_type == OID_DATA {
        let octets = octet_string(&content, depth + 1)?;
        // SafeContents: a SEQUENCE OF SafeBag; every bag re-encodes element by element.
        let safe_contents = sequence_of(&octets, depth + 2, generic)?;
        wrap_data_content_info(&safe_contents)
    } else if content_type == OID_ENCRYPTED_DATA {
        let encrypted = encrypted_data(&content, depth + 1)?;
        let explicit = encode(Class::ContextSpecific, true, Tag(0), &encrypted)?;
        let oid = generic(&first_child(content_info)?, depth + 1)?;
        encode(Class::Universal, true, Tag::Sequence, &[oid, explicit].concat())
    } else {
        generic(content_info, depth)
    }
}

/// `EncryptedData ::= SEQUENCE { version, EncryptedContentInfo, [1] IMPLICIT attributes OPTIONAL }` where
/// `EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm, [0] IMPLICIT OCTET STRING }`.
fn encrypted_data(any: &Any, depth: usize) -> Walk<Vec<u8>> {
    check_depth(depth)?;
    expect_universal(any, Tag::Sequence, "EncryptedData")?;
    let fields = children(any.data)?;
    let [version, info, rest @ ..] = fields.as_slice() else {
        return Err(StructureError::malformed("EncryptedData is too short"));
    };
    expect_universal(info, Tag::Sequence, "EncryptedContentInfo")?;
    let info_fields = children(info.data)?;
    let [content_type, algorithm, encrypted @ ..] = info_fields.as_slice() else {
        return Err(StructureError::malformed("EncryptedContentInfo is too short"));
    };
    let mut info_der = [generic(content_type, depth + 2)?, generic(algorithm, depth + 2)?].concat();
    if let Some(encrypted) = encrypted.first() {
        if encrypted.header.class() != Class::ContextSpecific || encrypted.header.tag() != Tag(0) {
            return Err(StructureError::malformed("encryptedContent is not [0]"));
        }
        let octets = octet_string(encrypted, depth + 2)?;
        info_der.extend(encode(Class::ContextSpecific, false, Tag(0), &octets)?);
    }
    let mut der = generic(version, depth + 1)?;
    der.extend(encode(Class::Universal, true, Tag::Sequence, &info_der)?);
    for field in rest {
        der.extend(generic(field, depth + 1)?);
    }
    encode(Class::Universal, true, Tag::Sequence, &der)
}

/// The content type and the `[0] EXPLICIT` content of a ContentInfo.
fn content_info_parts<'a>(any: &Any<'a>, depth: usize) -> Walk<(Oid<'a>, Option<Any<'a>>)> {
    check_depth(depth)?;
    expect_universal(any, Tag::Sequence, "ContentInfo")?;
    let fields = children(any.data)?;
    let (content_type, explicit) = match fields.as_slice() {
        [content_type] => (content_type, None),
        [content_type, explicit] => (content_type, Some(explicit)),
        _ => return Err(StructureError::malformed("ContentInfo has an unexpected number of fields")),
    };
    expect_universal(content_type, Tag::Oid, "the ContentInfo type")?;
    let oid = Oid::new(std::borrow::Cow::Borrowed(content_type.data));
    let content = match explicit {
        None => None,
        Some(explicit) => {
            if explicit.header.class() != Class::ContextSpecific || explicit.header.tag() != Tag(0) {
                return Err(StructureError::malformed("the ContentInfo content is not [0]"));
            }
            let inner = children(explicit.data)?;
            match inner.as_slice() {
                [content] => Some(content.clone()),
                _ => return Err(StructureError::malformed("the ContentInfo [0] does not hold one element")),
            }
        }
    };
    Ok((oid, content))
}

fn first_child<'a>(any: &Any<'a>) -> Walk<Any<'a>> {
    children(any.data)?.into_iter().next().ok_or_else(|| StructureError::malformed("empty SEQUENCE"))
}

/// `SEQUENCE { OID data, [0] EXPLICIT OCTET STRING content }` in DER.
fn wrap_data_content_info(content: &[u8]) -> Walk<Vec<u8>> {
    let oid = encode(Class::Universal, false, Tag::Oid, OID_DATA.as_bytes())?;
    let octets = encode(Class::Universal, false, Tag::OctetString, content)?;
    let explicit = encode(Class::ContextSpecific, true, Tag(0), &octets)?;
    encode(Class::Universal, true, Tag::Sequence, &[oid, explicit].concat())
}

/// Parses `encoded` as one `SEQUENCE OF` and re-encodes each element with `element`.
fn sequence_of(encoded: &[u8], depth: usize, element: fn(&Any, usize) -> Walk<Vec<u8>>) -> Walk<Vec<u8>> {
    check_depth(depth)?;
    let (rest, sequence) = Any::from_ber(encoded)?;
    if !rest.is_empty() {
        return Err(StructureError::malformed("bytes after the end of a nested structure"));
    }
    expect_universal(&sequence, Tag::Sequence, "a SEQUENCE OF")?;
    let mut der = Vec::with_capacity(sequence.data.len());
    for item in children(sequence.data)? {
        der.extend(element(&item, depth + 1)?);
    }
    encode(Class::Universal, true, Tag::Sequence, &der)
}

/// The value of an OCTET STRING (or an IMPLICIT-tagged one): primitive, or constructed from chunks.
fn octet_string(any: &Any, depth: usize) -> Walk<Vec<u8>> {
    check_depth(depth)?;
    if any.header.class() == Class::Universal && any.header.tag() != Tag::OctetString {
        return Err(StructureError::malformed("expected an OCTET STRING"));
    }
    if !any.header.is_constructed() {
        return Ok(any.data.to_vec());
    }
    let mut value = Vec::new();
    for chunk in children(any.data)? {
        expect_universal(&chunk, Tag::OctetString, "an OCTET STRING chunk")?;
        value.extend(octet_string(&chunk, depth + 1)?);
    }
    Ok(value)
}

/// Re-encodes any element in DER: definite lengths, chunked strings joined, element order kept.
fn generic(any: &Any, depth: usize) -> Walk<Vec<u8>> {
    check_depth(depth)?;
    let header = &any.header;
    if !header.is_constructed() {
        return encode(header.class(), false, header.tag(), any.data);
    }
    if header.class() == Class::Universal && is_string_type(header.tag()) {
        return encode(Class::Universal, false, header.tag(), &joined_string(any, depth)?);
    }
    let mut content = Vec::with_capacity(any.data.len());
    for child in children(any.data)? {
        content.extend(generic(&child, depth + 1)?);
    }
    encode(header.class(), true, header.tag(), &content)
}

/// The value of a string type sent in chunks (X.690 8.7.3, 8.6.3 for BIT STRING's unused-bits octet).
fn joined_string(any: &Any, depth: usize) -> Walk<Vec<u8>> {
    check_depth(depth)?;
    if !any.header.is_constructed() {
        return Ok(any.data.to_vec());
    }
    let tag = any.header.tag();
    let chunks = children(any.data)?;
    if tag == Tag::BitString {
        let mut bits = vec![0u8];
        for (index, chunk) in chunks.iter().enumerate() {
            expect_universal(chunk, tag, "a BIT STRING chunk")?;
            let value = joined_string(chunk, depth + 1)?;
            let Some((&unused, data)) = value.split_first() else {
                return Err(StructureError::malformed("an empty BIT STRING chunk"));
            };
            if unused != 0 && index + 1 != chunks.len() {
                return Err(StructureError::malformed("unused bits in a BIT STRING chunk before the last"));
            }
            bits[0] = unused;
            bits.extend_from_slice(data);
        }
        return Ok(bits);
    }
    let mut value = Vec::new();
    for chunk in &chunks {
        expect_universal(chunk, tag, "a string chunk of the same type")?;
        value.extend(joined_string(chunk, depth + 1)?);
    }
    Ok(value)
}

fn is_string_type(tag: Tag) -> bool {
    matches!(
        tag,
        Tag::BitString
            | Tag::OctetString
            | Tag::Utf8String
            | Tag::NumericString
            | Tag::PrintableString
            | Tag::T61String
            | Tag::VideotexString
            | Tag::Ia5String
            | Tag::GraphicString
            | Tag::VisibleString
            | Tag::GeneralString
            | Tag::UniversalString
            | Tag::BmpString
    )
}

/// The elements inside a constructed element's content.
fn children(mut content: &[u8]) -> Walk<Vec<Any<'_>>> {
    let mut items = Vec::new();
    while !content.is_empty() {
        let (rest, item) = Any::from_ber(content)?;
        if item.header.tag() == Tag::EndOfContent && item.header.class() == Class::Universal {
            return Err(StructureError::malformed("a stray end-of-contents marker"));
        }
        items.push(item);
        content = rest;
    }
    Ok(items)
}

fn parse_mac_data(any: &Any) -> Walk<MacData> {
    expect_universal(any, Tag::Sequence, "MacData")?;
    let fields = children(any.data)?;
    let (digest_info, salt, iterations) = match fields.as_slice() {
        [digest_info, salt] => (digest_info, salt, None),
        [digest_info, salt, iterations] => (digest_info, salt, Some(iterations)),
        _ => return Err(StructureError::malformed("MacData has an unexpected number of fields")),
    };
    expect_universal(digest_info, Tag::Sequence, "the MAC's DigestInfo")?;
    let digest_fields = children(digest_info.data)?;
    let [algorithm, digest] = digest_fields.as_slice() else {
        return Err(StructureError::malformed("the MAC's DigestInfo has an unexpected shape"));
    };
    expect_universal(algorithm, Tag::Sequence, "the MAC's digest algorithm")?;
    let algorithm_oid = first_child(algorithm)?;
    expect_universal(&algorithm_oid, Tag::Oid, "the MAC's digest algorithm")?;
    let iterations = match iterations {
        None => 1,
        Some(field) => {
            expect_universal(field, Tag::Integer, "the MAC iteration count")?;
            field.clone().u32().map_err(|_| StructureError::malformed("the MAC iteration count is out of range"))?
        }
    };
    Ok(MacData {
        digest_algorithm: Oid::new(std::borrow::Cow::Owned(algorithm_oid.data.to_vec())),
        digest: octet_string(digest, 1)?,
        salt: octet_string(salt, 1)?,
        iterations,
    })
}

fn expect_universal(any: &Any, tag: Tag, what: &str) -> Walk<()> {
    if any.header.class() == Class::Universal && any.header.tag() == tag {
        Ok(())
    } else {
        Err(StructureError::malformed(format!("expected {what}")))
    }
}

fn check_depth(depth: usize) -> Walk<()> {
    if depth > MAX_DEPTH {
        Err(StructureError::malformed("structures are nested too deeply"))
    } else {
        Ok(())
    }
}

/// One DER element: header with a definite length, then the content.
fn encode(class: Class, constructed: bool, tag: Tag, content: &[u8]) -> Walk<Vec<u8>> {
    let header = Header::new(class, constructed, tag, Length::Definite(content.len()));
    let mut der = header.to_der_vec()?;
    der.extend_from_slice(content);
    Ok(der)
}

const OID_RSA_ENCRYPTION: Oid<'static> = oid!(1.2.840 .113549 .1 .1 .1);

/// A PKCS#8 private key in the form `openssl pkey` writes: attributes dropped and, for RSA, the NULL
/// parameters that some Java/CSP tooling leaves out (ring, and so rustls, insists on them).
/// `None` when `der` is not a PKCS#8 structure.
pub(crate) fn canonical_pkcs8(der: &[u8]) -> Option<Vec<u8>> {
    let (rest, info) = Any::from_ber(der).ok()?;
    if !rest.is_empty() || expect_universal(&info, Tag::Sequence, "PrivateKeyInfo").is_err() {
        return None;
    }
    let fields = children(info.data).ok()?;
    let [version, algorithm, key, optional @ ..] = fields.as_slice() else { return None };
    expect_universal(algorithm, Tag::Sequence, "AlgorithmIdentifier").ok()?;
    let algorithm_fields = children(algorithm.data).ok()?;
    let algorithm_der = match algorithm_fields.as_slice() {
        [oid] if oid.header.tag() == Tag::Oid && oid.data == OID_RSA_ENCRYPTION.as_bytes() => {
            let null = encode(Class::Universal, false, Tag::Null, &[]).ok()?;
            encode(Class::Universal, true, Tag::Sequence, &[generic(oid, 1).ok()?, null].concat()).ok()?
        }
        _ => generic(algorithm, 1).ok()?,
    };
    let mut content = [generic(version, 1).ok()?, algorithm_der, generic(key, 1).ok()?].concat();
    for field in optional {
        // [0] attributes are dropped (openssl does too); [1] publicKey (PKCS#8 v2) stays.
        if !(field.header.class() == Class::ContextSpecific && field.header.tag() == Tag(0)) {
            content.extend(generic(field, 1).ok()?);
        }
    }
    encode(Class::Universal, true, Tag::Sequence, &content).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic_of(ber: &[u8]) -> Walk<Vec<u8>> {
        let (rest, any) = Any::from_ber(ber)?;
        assert!(rest.is_empty());
        generic(&any, 0)
    }

    #[test]
    fn chunked_strings_are_joined_and_lengths_made_definite() {
        // SEQUENCE (indefinite) { OCTET STRING (constructed, indefinite) { "ab", "cd" }, NULL }
        let ber = [0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x02, b'c', b'd', 0x00, 0x00, 0x05, 0x00, 0x00, 0x00];
        assert_eq!(generic_of(&ber).unwrap(), [0x30, 0x08, 0x04, 0x04, b'a', b'b', b'c', b'd', 0x05, 0x00]);
        // BIT STRING chunks: the unused-bits octet of the last chunk counts.
        let bits = [0x23, 0x80, 0x03, 0x02, 0x00, 0xAA, 0x03, 0x02, 0x04, 0xF0, 0x00, 0x00];
        assert_eq!(generic_of(&bits).unwrap(), [0x03, 0x03, 0x04, 0xAA, 0xF0]);
        let bad_bits = [0x23, 0x80, 0x03, 0x02, 0x04, 0xA0, 0x03, 0x02, 0x00, 0xF0, 0x00, 0x00];
        assert!(matches!(generic_of(&bad_bits), Err(StructureError::Malformed(_))));
        // DER input comes out unchanged, element order included (a SET is not re-sorted).
        let der = [0x31, 0x06, 0x04, 0x01, 0x02, 0x04, 0x01, 0x01];
        assert_eq!(generic_of(&der).unwrap(), der);
    }

    #[test]
    fn truncated_trailing_and_foreign_input_are_told_apart() {
        assert_eq!(normalise_pfx(&[0x30, 0x80, 0x02, 0x01]).err(), Some(StructureError::Truncated));
        assert_eq!(normalise_pfx(&[0x30, 0x10, 0x02]).err(), Some(StructureError::Truncated));
        assert_eq!(normalise_pfx(&[0x05, 0x00, 0x00]).err(), Some(StructureError::TrailingData));
        assert!(matches!(normalise_pfx(&[0x05, 0x00]), Err(StructureError::Malformed(_))));
        assert!(matches!(normalise_pfx(&[0x30, 0x03, 0x02, 0x01, 0x02]), Err(StructureError::Malformed(_))));
    }
}
