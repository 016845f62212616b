//! Services management against the spec-checked mock, typed errors against wiremock, logos.

use appio::mock::{MockConfig, MockServer as IoMock};
use appio::services::{
    BaseMetadata, Cidr, HistoryOrder, HistoryRequest, HistoryStatus, KeyType, LifecycleStatus,
    Organization, PageRequest, PayloadMetadata, PublicationStatus, ServiceData, ServiceId,
    ServicePayload, ServiceScope,
};
use appio::{
    ApiError, Error, IoClient, Logo, LogoError, LogoRules, ManageClient, SubscriptionKey,
    ValidationError,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{base, cf, fast_retry, payee};
use crate::schema::checked;

pub(crate) fn manage(base_url: &str, key: &str) -> ManageClient {
    ManageClient::new(
        IoClient::builder(SubscriptionKey::new(key))
            .base_url(base_url)
            .retry(fast_retry())
            .build()
            .unwrap(),
    )
}

pub(crate) fn payload(name: &str) -> ServicePayload {
    let org = Organization::new("Comune di Prova", payee())
        .unwrap()
        .department("Tributi")
        .unwrap();
    let mut data = ServiceData::new(name, "Avvisi della tassa rifiuti", org)
        .unwrap()
        .max_allowed_payment_amount(150_000)
        .unwrap();
    data.authorized_recipients = vec![cf(1), cf(2)];
    data.authorized_cidrs = vec![Cidr::new("192.168.1.0/24").unwrap()];
    data.require_secure_channel = Some(false);
    let mut base = BaseMetadata::new(ServiceScope::Local);
    base.web_url =
        Some(appio::services::NonEmptyText::new("web_url", "https://comune.example").unwrap());
    ServicePayload::new(data, PayloadMetadata { base, topic_id: 3 })
}

/// A PNG made by the `image` crate.
pub(crate) fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, 200, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn a_service_lives_through_its_whole_lifecycle() {
    let mock = IoMock::start(checked(MockConfig::default())).await.unwrap();
    let m = manage(&mock.base_url(), "manage-key");

    let topics = m.topics().await.unwrap();
    assert!(
        topics
            .iter()
            .any(|t| t.id == 3 && t.name == "Benessere sociale")
    );

    let created = m.create_service(&payload("TARI 2025")).await.unwrap();
    assert_eq!(created.status.value, LifecycleStatus::Draft);
    assert_eq!(created.data.name.as_str(), "TARI 2025");
    assert_eq!(
        created
            .metadata
            .as_ref()
            .unwrap()
            .topic
            .as_ref()
            .unwrap()
            .id,
        3
    );
    let id = created.id.clone();

    let got = m.get_service(&id).await.unwrap();
    assert_eq!(got.data, created.data);

    let updated = m
        .update_service(&id, &payload("TARI 2025 (rev.)"))
        .await
        .unwrap();
    assert_eq!(updated.data.name.as_str(), "TARI 2025 (rev.)");

    let logo = Logo::png(png(300, 300)).unwrap();
    m.upload_service_logo(&id, &logo).await.unwrap();
    assert_eq!(mock.service_logo(id.as_str()).unwrap(), logo.bytes());

    // Release before approval: 409.
    let e = m.release(&id).await.unwrap_err();
    assert!(matches!(e, Error::Api(ApiError::Conflict { .. })), "{e}");
    m.request_review(&id, false).await.unwrap();
    // Under review: update refused with 409, a second review too.
    let e = m
        .update_service(&id, &payload("x-change"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Api(ApiError::Conflict { .. })), "{e}");
    assert!(matches!(
        m.request_review(&id, false).await.unwrap_err(),
        Error::Api(ApiError::Conflict { .. })
    ));
    assert!(mock.approve(id.as_str()));
    assert_eq!(
        m.get_service(&id).await.unwrap().status.value,
        LifecycleStatus::Approved
    );
    assert!(matches!(
        m.published(&id).await.unwrap_err(),
        Error::Api(ApiError::NotFound { .. })
    ));
    m.release(&id).await.unwrap();
    let p = m.published(&id).await.unwrap();
    assert_eq!(p.status, PublicationStatus::Published);
    m.unpublish(&id).await.unwrap();
    assert_eq!(
        m.published(&id).await.unwrap().status,
        PublicationStatus::Unpublished
    );

    // History: draft, draft, submitted, approved, published, unpublished; pages of 4.
    let first = m
        .history(
            &id,
            &HistoryRequest::new(HistoryOrder::Asc, Some(4)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 4);
    let token = first.continuation_token.clone().unwrap();
    let second = m
        .history(
            &id,
            &HistoryRequest::new(HistoryOrder::Asc, Some(4))
                .unwrap()
                .after(token),
        )
        .await
        .unwrap();
    assert_eq!(second.continuation_token, None);
    let all: Vec<HistoryStatus> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|i| i.status.value.clone())
        .collect();
    assert_eq!(
        all,
        [
            HistoryStatus::Draft,
            HistoryStatus::Draft,
            HistoryStatus::Submitted,
            HistoryStatus::Approved,
            HistoryStatus::Published,
            HistoryStatus::Unpublished
        ]
    );
    let desc = m.history(&id, &HistoryRequest::default()).await.unwrap();
    assert_eq!(desc.items[0].status.value, HistoryStatus::Unpublished);

    // Keys: regenerating one changes only that one.
    let k1 = m.keys(&id).await.unwrap();
    let k2 = m.regenerate_key(&id, KeyType::Secondary).await.unwrap();
    assert_eq!(k1.primary, k2.primary);
    assert_ne!(k1.secondary, k2.secondary);
    assert_eq!(m.keys(&id).await.unwrap(), k2);
    assert!(!format!("{k2:?}").contains(k2.primary.expose_secret()));

    m.delete_service(&id).await.unwrap();
    assert!(matches!(
        m.get_service(&id).await.unwrap_err(),
        Error::Api(ApiError::NotFound { .. })
    ));
    assert!(
        mock.request_violations().is_empty(),
        "{:?}",
        mock.request_violations()
    );
}

#[tokio::test]
async fn all_services_reads_every_page() {
    let mock = IoMock::start(checked(MockConfig::default())).await.unwrap();
    let m = manage(&mock.base_url(), "manage-key");
    for i in 0..7 {
        m.create_service(&payload(&format!("Servizio {i}")))
            .await
            .unwrap();
    }
    let page = m
        .list_services(PageRequest::new(3, 6).unwrap())
        .await
        .unwrap();
    assert_eq!(page.value.len(), 1);
    assert_eq!(page.pagination.count, Some(7));
    let all = m.all_services(3).await.unwrap();
    let mut names: Vec<String> = all.iter().map(|s| s.data.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        (0..7).map(|i| format!("Servizio {i}")).collect::<Vec<_>>()
    );
    assert!(matches!(
        PageRequest::new(101, 0),
        Err(ValidationError::Range { field: "limit", .. })
    ));
    assert!(
        mock.request_violations().is_empty(),
        "{:?}",
        mock.request_violations()
    );
}

#[tokio::test]
async fn every_documented_error_status_has_its_type() {
    let server = MockServer::start().await;
    let cases: &[(u16, &str)] = &[
        (
            400,
            r#"{"title":"Invalid payload","status":400,"detail":"name is required"}"#,
        ),
        (401, r#"{"statusCode":401,"message":"Access denied"}"#),
        (403, r#"{"title":"You are not allowed here","status":403}"#),
        (404, r#"{"title":"Not found","status":404}"#),
        (409, ""),
        (429, ""),
        (500, r#"{"title":"Internal server error","status":500}"#),
    ];
    for (status, body) in cases {
        server.reset().await;
        Mock::given(method("PUT"))
            .and(path("/api/v1/manage/services/S1"))
            .respond_with(ResponseTemplate::new(*status).set_body_string(*body))
            .mount(&server)
            .await;
        let io = IoClient::builder(SubscriptionKey::new("k"))
            .base_url(base(&server))
            .retry(appio::RetryPolicy::none())
            .build()
            .unwrap();
        let m = ManageClient::new(io);
        let e = m
            .update_service(&ServiceId::new("S1").unwrap(), &payload("TARI"))
            .await
            .unwrap_err();
        let Error::Api(api) = &e else {
            panic!("{status}: {e}")
        };
        let ok = match status {
            400 => {
                matches!(api, ApiError::BadRequest { problem: Some(p) } if p.detail.as_deref() == Some("name is required"))
            }
            401 => matches!(api, ApiError::Unauthorized { .. }),
            403 => matches!(
                api,
                ApiError::Forbidden {
                    reason: appio::ForbiddenReason::NotAllowed,
                    ..
                }
            ),
            404 => matches!(api, ApiError::NotFound { .. }),
            409 => matches!(api, ApiError::Conflict { .. }),
            429 => matches!(api, ApiError::Throttled { .. }),
            500 => matches!(api, ApiError::Server { status: 500, .. }),
            _ => false,
        };
        assert!(ok, "{status}: {api:?}");
    }
}

#[tokio::test]
async fn invalid_payloads_are_refused_before_sending() {
    let server = MockServer::start().await;
    let m = manage(&base(&server), "k");
    let mut p = payload("TARI");
    p.metadata.base.scope = ServiceScope::Other("REGIONAL".into());
    assert!(matches!(
        m.create_service(&p).await.unwrap_err(),
        Error::Validation(ValidationError::Format {
            field: "metadata.scope",
            ..
        })
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
    assert!(ServiceData::new("", "d", Organization::new("o", payee()).unwrap()).is_err());
    assert!(Organization::new("", payee()).is_err());
    assert!(
        ServiceData::new("n", "d", Organization::new("o", payee()).unwrap())
            .unwrap()
            .max_allowed_payment_amount(10_000_000_000)
            .is_err()
    );
    for bad in [
        "10.0.0.0/33",
        "256.1.1.1",
        "1.2.3",
        "1.2.3.4/",
        "a.b.c.d",
        "1.2.3.4/08",
    ] {
        assert!(Cidr::new(bad).is_err(), "{bad}");
    }
    for good in ["10.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "192.168.1.0/24"] {
        Cidr::new(good).unwrap();
    }
    assert!(ServiceId::new("").is_err());
    assert!(ServiceId::new("a\nb").is_err());
}

/// A PNG chunk with its CRC computed by flate2 (zlib's CRC-32), not by the crate.
fn chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(ty);
    crc.update(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(ty);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

/// Splits a PNG into its chunks (type, data).
fn chunks(png: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut at = 8;
    let mut out = Vec::new();
    while at < png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let ty: [u8; 4] = png[at + 4..at + 8].try_into().unwrap();
        out.push((ty, png[at + 8..at + 8 + len].to_vec()));
        at += 12 + len;
    }
    out
}

fn assemble(parts: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (ty, d) in parts {
        out.extend(chunk(ty, d));
    }
    out
}

#[test]
fn logos_are_checked_before_sending() {
    let good = png(64, 48);
    let l = Logo::png(good.clone()).unwrap();
    assert_eq!((l.width(), l.height()), (64, 48));
    // Reassembling the parsed chunks with flate2's CRC gives back the same file.
    assert_eq!(assemble(&chunks(&good)), good);

    assert_eq!(Logo::png(Vec::new()).unwrap_err(), LogoError::Empty);
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend_from_slice(&good[4..]);
    assert_eq!(Logo::png(jpeg).unwrap_err(), LogoError::NotPng);
    assert!(matches!(
        Logo::png(good[..good.len() - 5].to_vec()).unwrap_err(),
        LogoError::Truncated { .. }
    ));
    let mut flipped = good.clone();
    flipped[20] ^= 0x01; // inside IHDR's width
    assert!(matches!(
        Logo::png(flipped).unwrap_err(),
        LogoError::BadCrc { chunk, .. } if chunk == "IHDR"
    ));
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"junk");
    assert_eq!(
        Logo::png(trailing).unwrap_err(),
        LogoError::TrailingData { extra: 4 }
    );
    let parts = chunks(&good);
    // IHDR not first.
    let mut swapped = parts.clone();
    swapped.swap(0, 1);
    assert!(matches!(
        Logo::png(assemble(&swapped)).unwrap_err(),
        LogoError::MissingIhdr { .. }
    ));
    // No IDAT.
    let no_idat: Vec<_> = parts
        .iter()
        .filter(|(t, _)| t != b"IDAT")
        .cloned()
        .collect();
    assert_eq!(
        Logo::png(assemble(&no_idat)).unwrap_err(),
        LogoError::NoImageData
    );
    // Bad IHDR fields, with valid CRCs: colour type 5, depth 3 for RGBA, zero width.
    for (at, value) in [(9usize, 5u8), (8, 3), (3, 0)] {
        let mut p = parts.clone();
        if at == 3 {
            p[0].1[0..4].copy_from_slice(&[0, 0, 0, 0]);
        } else {
            p[0].1[at] = value;
        }
        assert!(
            matches!(
                Logo::png(assemble(&p)).unwrap_err(),
                LogoError::BadIhdr { .. }
            ),
            "IHDR byte {at} = {value}"
        );
    }
    // Rules: square, minimum side, size in bytes.
    let square = LogoRules {
        square: true,
        min_side: 100,
        ..LogoRules::default()
    };
    assert!(matches!(
        Logo::png_with(png(120, 100), &square).unwrap_err(),
        LogoError::Dimensions {
            width: 120,
            height: 100,
            ..
        }
    ));
    assert!(matches!(
        Logo::png_with(png(50, 50), &square).unwrap_err(),
        LogoError::Dimensions { .. }
    ));
    Logo::png_with(png(100, 100), &square).unwrap();
    let tiny = LogoRules {
        max_bytes: 10,
        ..LogoRules::default()
    };
    assert!(matches!(
        Logo::png_with(good, &tiny).unwrap_err(),
        LogoError::TooLarge { max: 10, .. }
    ));
}

#[tokio::test]
async fn a_server_ignoring_the_offset_does_not_loop_forever() {
    let server = MockServer::start().await;
    let one = serde_json::json!({
        "id": "S1", "status": {"value": "draft"}, "last_update": "2025-01-01T00:00:00.000Z",
        "name": "TARI", "description": "d",
        "organization": {"name": "Comune", "fiscal_code": "00488410010"}
    });
    Mock::given(method("GET"))
        .and(path("/api/v1/manage/services"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "value": [one.clone(), {"id": "S2", "status": {"value": "weird"},
                "last_update": "2025-01-01T00:00:00Z", "name": "B", "description": "d",
                "organization": {"name": "Comune", "fiscal_code": "00488410010"}}],
            "pagination": {"offset": 0.0, "limit": 2, "count": 10}
        })))
        .mount(&server)
        .await;
    let m = manage(&base(&server), "k");
    let page = m
        .list_services(PageRequest::new(2, 0).unwrap())
        .await
        .unwrap();
    // An unknown status is kept; a count written as a float is read.
    assert_eq!(
        page.value[1].status.value,
        LifecycleStatus::Other("weird".into())
    );
    assert_eq!(page.pagination.offset, Some(0));
    let e = m.all_services(2).await.unwrap_err();
    assert!(
        matches!(e, Error::Api(ApiError::MalformedResponse { .. })),
        "{e}"
    );
}
