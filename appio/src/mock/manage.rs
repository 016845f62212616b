//! The mock's services management, subscriptions feed, organization logo and remote-content
//! configuration endpoints.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, put};
use base64::Engine;
use chrono::{DateTime, Utc};

use super::{Shared, gate, json, lock, problem};
use crate::remote::{Configuration, ConfigurationId, NewConfiguration};
use crate::services::{
    HistoryItem, HistoryKind, HistoryState, HistoryStatus, LifecycleState, LifecycleStatus,
    Pagination, PublicationStatus, ServiceId, ServiceLifecycle, ServiceMetadata, ServicePage,
    ServicePayload, ServicePublication, Topic,
};

/// A service as the mock keeps it.
#[derive(Debug, Clone)]
pub(crate) struct MockService {
    pub(crate) payload: ServicePayload,
    pub(crate) status: LifecycleStatus,
    pub(crate) reason: Option<String>,
    pub(crate) last_update: DateTime<Utc>,
    pub(crate) primary: String,
    pub(crate) secondary: String,
    pub(crate) publication: Option<PublicationStatus>,
    pub(crate) auto_publish: bool,
    pub(crate) history: Vec<(HistoryKind, HistoryStatus, DateTime<Utc>)>,
    pub(crate) logo: Option<Vec<u8>>,
}

/// State of the management endpoints.
#[derive(Debug, Default)]
pub(crate) struct ManageState {
    pub(crate) services: BTreeMap<String, MockService>,
    pub(crate) revoked: Vec<String>,
    pub(crate) feeds: BTreeMap<String, (Vec<String>, Vec<String>)>,
    pub(crate) org_logos: BTreeMap<String, Vec<u8>>,
    pub(crate) configs: BTreeMap<String, NewConfiguration>,
}

/// The value of a `Result<T, Response>`, or the handler returns its error response.
macro_rules! ok_or_return {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

pub(crate) const TOPICS: &[(u64, &str)] = &[
    (0, "Altro"),
    (3, "Benessere sociale"),
    (7, "Mobilità e trasporti"),
    (11, "Tributi e pagamenti"),
];

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/api/v1/manage/services",
            get(list_services).post(create_service),
        )
        .route("/api/v1/manage/services/topics", get(topics))
        .route(
            "/api/v1/manage/services/{id}",
            get(get_service).put(update_service).delete(delete_service),
        )
        .route("/api/v1/manage/services/{id}/logo", put(service_logo))
        .route("/api/v1/manage/services/{id}/history", get(history))
        .route("/api/v1/manage/services/{id}/keys", get(keys))
        .route(
            "/api/v1/manage/services/{id}/keys/{key_type}",
            put(regenerate),
        )
        .route("/api/v1/manage/services/{id}/review", put(review))
        .route(
            "/api/v1/manage/services/{id}/release",
            get(published).post(release).delete(unpublish),
        )
        .route("/api/v1/subscriptions-feed/{date}", get(feed))
        .route(
            "/api/v1/organizations/{organization_fiscal_code}/logo",
            put(org_logo),
        )
        .route(
            "/api/v1/messages-sending/remote-contents/configurations",
            get(list_configs).post(create_config),
        )
        .route(
            "/api/v1/messages-sending/remote-contents/configurations/{id}",
            get(get_config).put(update_config),
        )
}

fn ulid_like(shared: &Shared) -> String {
    const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let n = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let mut id = *b"01SERV00000000000000000000";
    let mut v = n;
    for slot in id[6..].iter_mut().rev() {
        *slot = CROCKFORD[(v % 32) as usize];
        v /= 32;
    }
    String::from_utf8_lossy(&id).into_owned()
}

pub(crate) fn new_key(shared: &Shared) -> String {
    use rand::Rng;
    let v: u128 = lock(&shared.rng).random();
    format!("{v:032x}")
}

fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Not found",
        "No service with this id",
    )
}

fn bad(detail: &str) -> Response {
    problem(StatusCode::BAD_REQUEST, "Invalid payload", detail)
}

fn conflict(detail: &str) -> Response {
    problem(StatusCode::CONFLICT, "Conflict", detail)
}

fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = status;
    r
}

fn lifecycle(id: &str, s: &MockService) -> ServiceLifecycle {
    ServiceLifecycle {
        id: ServiceId::from_trusted(id),
        status: LifecycleState {
            value: s.status.clone(),
            reason: s.reason.clone(),
        },
        last_update: s.last_update,
        metadata: Some(metadata(s)),
        data: s.payload.data.clone(),
    }
}

fn metadata(s: &MockService) -> ServiceMetadata {
    let topic = TOPICS
        .iter()
        .find(|(id, _)| *id == s.payload.metadata.topic_id)
        .map(|(id, name)| Topic {
            id: *id,
            name: (*name).to_owned(),
        });
    ServiceMetadata {
        base: s.payload.metadata.base.clone(),
        topic,
    }
}

fn parse_payload(body: &[u8]) -> Result<ServicePayload, Response> {
    let p: ServicePayload = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
    if !TOPICS.iter().any(|(id, _)| *id == p.metadata.topic_id) {
        return Err(bad("unknown topic_id"));
    }
    p.validate().map_err(|e| bad(&e.to_string()))?;
    Ok(p)
}

fn record(s: &mut MockService, kind: HistoryKind, status: HistoryStatus) {
    s.last_update = Utc::now();
    s.history.push((kind, status, s.last_update));
}

async fn create_service(State(sh): State<Arc<Shared>>, h: HeaderMap, body: Bytes) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let payload = ok_or_return!(parse_payload(&body));
    let id = ulid_like(&sh);
    let mut s = MockService {
        payload,
        status: LifecycleStatus::Draft,
        reason: None,
        last_update: Utc::now(),
        primary: new_key(&sh),
        secondary: new_key(&sh),
        publication: None,
        auto_publish: false,
        history: Vec::new(),
        logo: None,
    };
    record(&mut s, HistoryKind::Lifecycle, HistoryStatus::Draft);
    let out = lifecycle(&id, &s);
    lock(&sh.manage).services.insert(id, s);
    json(StatusCode::CREATED, &out)
}

#[derive(serde::Deserialize)]
struct ListQuery {
    limit: Option<String>,
    offset: Option<String>,
}

async fn list_services(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let limit = match q.limit.as_deref().map(str::parse::<u64>) {
        None => 20,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        _ => return bad("limit must be 1..=100"),
    };
    let offset = match q.offset.as_deref().map(str::parse::<u64>) {
        None => 0,
        Some(Ok(o)) => o,
        _ => return bad("offset must be a non-negative integer"),
    };
    let m = lock(&sh.manage);
    let all: Vec<ServiceLifecycle> = m
        .services
        .iter()
        .filter(|(_, s)| s.status != LifecycleStatus::Deleted)
        .map(|(id, s)| lifecycle(id, s))
        .collect();
    let count = all.len() as u64;
    let value = all
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(limit as usize)
        .collect();
    json(
        StatusCode::OK,
        &ServicePage {
            value,
            pagination: Pagination {
                offset: Some(offset),
                limit: Some(limit),
                count: Some(count),
            },
        },
    )
}

async fn topics(State(sh): State<Arc<Shared>>, h: HeaderMap) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let topics: Vec<_> = TOPICS
        .iter()
        .map(|(id, name)| serde_json::json!({"id": id, "name": name}))
        .collect();
    json(StatusCode::OK, &serde_json::json!({ "topics": topics }))
}

fn with_service<T>(
    sh: &Shared,
    id: &str,
    f: impl FnOnce(&mut MockService) -> Result<T, Response>,
) -> Result<T, Response> {
    let mut m = lock(&sh.manage);
    match m.services.get_mut(id) {
        Some(s) if s.status != LifecycleStatus::Deleted => f(s),
        _ => Err(not_found()),
    }
}

fn answer<T: serde::Serialize>(r: Result<T, Response>, status: StatusCode) -> Response {
    match r {
        Ok(v) => json(status, &v),
        Err(r) => r,
    }
}

fn answer_empty(r: Result<(), Response>, status: StatusCode) -> Response {
    match r {
        Ok(()) => empty(status),
        Err(r) => r,
    }
}

async fn get_service(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    answer(
        with_service(&sh, &id, |s| Ok(lifecycle(&id, s))),
        StatusCode::OK,
    )
}

async fn update_service(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let payload = ok_or_return!(parse_payload(&body));
    let r = with_service(&sh, &id, |s| {
        if s.status == LifecycleStatus::Submitted {
            return Err(conflict("the service is under review"));
        }
        s.payload = payload;
        s.status = LifecycleStatus::Draft;
        s.reason = None;
        record(s, HistoryKind::Lifecycle, HistoryStatus::Draft);
        Ok(lifecycle(&id, s))
    });
    answer(r, StatusCode::OK)
}

async fn delete_service(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let r = with_service(&sh, &id, |s| {
        s.status = LifecycleStatus::Deleted;
        record(s, HistoryKind::Lifecycle, HistoryStatus::Deleted);
        Ok(())
    });
    answer_empty(r, StatusCode::NO_CONTENT)
}

fn decode_logo(body: &[u8]) -> Result<Vec<u8>, Response> {
    #[derive(serde::Deserialize)]
    struct L {
        logo: String,
    }
    let l: L = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
    let png = base64::engine::general_purpose::STANDARD
        .decode(l.logo.as_bytes())
        .map_err(|e| bad(&format!("logo is not base64: {e}")))?;
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(bad("logo is not a PNG"));
    }
    Ok(png)
}

async fn service_logo(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let png = ok_or_return!(decode_logo(&body));
    let r = with_service(&sh, &id, |s| {
        s.logo = Some(png);
        Ok(())
    });
    answer_empty(r, StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
struct HistoryQuery {
    order: Option<String>,
    limit: Option<String>,
    #[serde(rename = "continuationToken")]
    continuation_token: Option<String>,
}

async fn history(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let desc = match q.order.as_deref() {
        None | Some("DESC") => true,
        Some("ASC") => false,
        Some(_) => return bad("order must be ASC or DESC"),
    };
    let limit = match q.limit.as_deref().map(str::parse::<usize>) {
        None => 10,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        _ => return bad("limit must be 1..=100"),
    };
    let start = match q.continuation_token.as_deref().map(str::parse::<usize>) {
        None => 0,
        Some(Ok(s)) => s,
        Some(Err(_)) => return bad("bad continuationToken"),
    };
    let r = with_service(&sh, &id, |s| {
        let mut items: Vec<HistoryItem> = s
            .history
            .iter()
            .map(|(kind, value, at)| HistoryItem {
                id: ServiceId::from_trusted(id.clone()),
                status: HistoryState {
                    kind: Some(kind.clone()),
                    value: value.clone(),
                    reason: None,
                },
                last_update: *at,
                metadata: metadata(s),
                data: s.payload.data.clone(),
            })
            .collect();
        if desc {
            items.reverse();
        }
        let total = items.len();
        let page: Vec<HistoryItem> = items.into_iter().skip(start).take(limit).collect();
        let next = (start + page.len() < total).then(|| (start + page.len()).to_string());
        let mut out = serde_json::json!({ "items": page });
        if let Some(t) = next {
            out["continuationToken"] = serde_json::Value::String(t);
        }
        Ok(out)
    });
    answer(r, StatusCode::OK)
}

fn keys_json(s: &MockService) -> serde_json::Value {
    serde_json::json!({"primary_key": s.primary, "secondary_key": s.secondary})
}

async fn keys(State(sh): State<Arc<Shared>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    answer(with_service(&sh, &id, |s| Ok(keys_json(s))), StatusCode::OK)
}

async fn regenerate(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Path((id, key_type)): Path<(String, String)>,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let fresh = new_key(&sh);
    let mut m = lock(&sh.manage);
    let Some(s) = m
        .services
        .get_mut(&id)
        .filter(|s| s.status != LifecycleStatus::Deleted)
    else {
        return not_found();
    };
    let old = match key_type.as_str() {
        "primary" => std::mem::replace(&mut s.primary, fresh),
        "secondary" => std::mem::replace(&mut s.secondary, fresh),
        _ => return bad("keyType must be primary or secondary"),
    };
    let out = keys_json(s);
    // The old key stops working at once.
    m.revoked.push(old);
    json(StatusCode::OK, &out)
}

async fn review(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    #[derive(serde::Deserialize)]
    struct R {
        auto_publish: bool,
    }
    let req: R = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad(&e.to_string()),
    };
    let r = with_service(&sh, &id, |s| {
        if !matches!(s.status, LifecycleStatus::Draft | LifecycleStatus::Rejected) {
            return Err(conflict(
                "only a draft or a rejected service can be reviewed",
            ));
        }
        s.status = LifecycleStatus::Submitted;
        s.auto_publish = req.auto_publish;
        record(s, HistoryKind::Lifecycle, HistoryStatus::Submitted);
        Ok(())
    });
    answer_empty(r, StatusCode::NO_CONTENT)
}

async fn release(State(sh): State<Arc<Shared>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let r = with_service(&sh, &id, |s| {
        if s.status != LifecycleStatus::Approved {
            return Err(conflict("only an approved service can be released"));
        }
        s.publication = Some(PublicationStatus::Published);
        record(s, HistoryKind::Publication, HistoryStatus::Published);
        Ok(())
    });
    answer_empty(r, StatusCode::NO_CONTENT)
}

async fn published(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let r = with_service(&sh, &id, |s| match &s.publication {
        Some(p) => Ok(ServicePublication {
            id: ServiceId::from_trusted(id.clone()),
            status: p.clone(),
            last_update: s.last_update,
            metadata: Some(metadata(s)),
            data: s.payload.data.clone(),
        }),
        None => Err(not_found()),
    });
    answer(r, StatusCode::OK)
}

async fn unpublish(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let r = with_service(&sh, &id, |s| {
        if s.publication.is_none() {
            return Err(not_found());
        }
        s.publication = Some(PublicationStatus::Unpublished);
        record(s, HistoryKind::Publication, HistoryStatus::Unpublished);
        Ok(())
    });
    answer_empty(r, StatusCode::NO_CONTENT)
}

async fn feed(State(sh): State<Arc<Shared>>, h: HeaderMap, Path(date): Path<String>) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    if crate::feed::parse_date_utc(&date).is_err() {
        return bad("date must be YYYY-MM-DD");
    }
    match lock(&sh.manage).feeds.get(&date) {
        Some((subs, unsubs)) => json(
            StatusCode::OK,
            &serde_json::json!({"dateUTC": date, "subscriptions": subs, "unsubscriptions": unsubs}),
        ),
        None => problem(
            StatusCode::NOT_FOUND,
            "Not found",
            "Subscriptions feed not available yet.",
        ),
    }
}

async fn org_logo(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Path(ofc): Path<String>,
    body: Bytes,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    if ofc.len() != 11 || !ofc.bytes().all(|b| b.is_ascii_digit()) {
        return bad("organization_fiscal_code must be 11 digits");
    }
    match decode_logo(&body) {
        Ok(png) => {
            lock(&sh.manage).org_logos.insert(ofc, png);
            empty(StatusCode::ACCEPTED)
        }
        Err(r) => r,
    }
}

fn no_config() -> Response {
    problem(StatusCode::NOT_FOUND, "Not found", "No such configuration")
}

fn parse_config(body: &[u8]) -> Result<NewConfiguration, Response> {
    let c: NewConfiguration = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
    c.validate().map_err(|e| bad(&e.to_string()))?;
    Ok(c)
}

fn config_out(id: &str, c: &NewConfiguration) -> Result<Configuration, Response> {
    Ok(Configuration {
        configuration_id: ConfigurationId::new(id).map_err(|e| bad(&e.to_string()))?,
        user_id: Some("01MOCKUSER".to_owned()),
        config: c.clone(),
    })
}

async fn create_config(State(sh): State<Arc<Shared>>, h: HeaderMap, body: Bytes) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let c = ok_or_return!(parse_config(&body));
    let id = ulid_like(&sh);
    let out = config_out(&id, &c);
    lock(&sh.manage).configs.insert(id, c);
    answer(out, StatusCode::CREATED)
}

async fn list_configs(State(sh): State<Arc<Shared>>, h: HeaderMap) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let m = lock(&sh.manage);
    let list: Result<Vec<Configuration>, Response> =
        m.configs.iter().map(|(id, c)| config_out(id, c)).collect();
    match list {
        Ok(l) => json(StatusCode::OK, &serde_json::json!({ "rcConfigList": l })),
        Err(r) => r,
    }
}

async fn get_config(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let m = lock(&sh.manage);
    match m.configs.get(&id) {
        Some(c) => answer(config_out(&id, c), StatusCode::OK),
        None => no_config(),
    }
}

async fn update_config(
    State(sh): State<Arc<Shared>>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    ok_or_return!(gate(&sh, &h).await);
    let c = ok_or_return!(parse_config(&body));
    let mut m = lock(&sh.manage);
    match m.configs.get_mut(&id) {
        Some(slot) => {
            *slot = c;
            empty(StatusCode::NO_CONTENT)
        }
        None => no_config(),
    }
}
