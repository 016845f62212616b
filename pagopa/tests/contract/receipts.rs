//! The [`ReceiptStore`] contract.

use std::collections::BTreeSet;
use std::sync::Arc;

use pagopa::node::*;

use crate::{EC, EC2, day, org, receipt, receipt_contract};

type Store = Arc<dyn ReceiptStore>;

async fn put_is_idempotent_and_conflicts_are_refused(store: Store) {
    let r = receipt(EC, 1, "tok-1", Some(day(3)));
    assert_eq!(store.put(&r).await.unwrap(), PutOutcome::Stored);
    assert_eq!(store.put(&r).await.unwrap(), PutOutcome::Duplicate);
    let mut other = r.clone();
    other.payment_amount = pa_types::Amount::from_cents(1);
    assert!(matches!(
        store.put(&other).await,
        Err(StoreError::Conflict { receipt_id, .. }) if receipt_id == "tok-1"
    ));
    // Same notice, another receipt id: a different receipt.
    let second = receipt(EC, 1, "tok-2", Some(day(3)));
    assert_eq!(store.put(&second).await.unwrap(), PutOutcome::Stored);
    assert_eq!(store.count().await.unwrap(), 2);
    assert_eq!(store.list(&org(EC)).await.unwrap(), vec![r, second]);
    assert!(store.list(&org(EC2)).await.unwrap().is_empty());
}
receipt_contract!(put_is_idempotent_and_conflicts_are_refused);

/// Follows `next` from the first page; returns every receipt seen, in order.
async fn walk(store: &Store, q: ReceiptQuery) -> (Vec<Receipt>, usize) {
    let mut q = q;
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.list_page(&q).await.unwrap();
        pages += 1;
        assert!(page.receipts.len() <= q.page_size() as usize);
        all.extend(page.receipts);
        match page.next {
            Some(c) => {
                // The cursor survives a round trip through text (a URL).
                let c: ReceiptCursor = c.to_string().parse().unwrap();
                q.after = Some(c);
            }
            None => return (all, pages),
        }
        assert!(pages < 10_000, "pagination does not end");
    }
}

fn position(r: &Receipt) -> (chrono::NaiveDate, String, String) {
    (
        r.payment_date().unwrap(),
        r.notice_number.as_str().to_owned(),
        r.receipt_id.clone(),
    )
}

async fn pagination_returns_every_receipt_exactly_once(store: Store) {
    let mut expected = BTreeSet::new();
    for i in 0..157u64 {
        // dates and notice numbers interleaved, so order by date differs from key order
        let r = receipt(
            EC,
            1000 - i,
            &format!("t{i}/x"),
            Some(day(1 + (i % 9) as u32)),
        );
        expected.insert(position(&r));
        store.put(&r).await.unwrap();
    }
    for i in 0..30u64 {
        store
            .put(&receipt(EC2, i, &format!("o{i}"), Some(day(2))))
            .await
            .unwrap();
    }
    for limit in [1u32, 7, 100, 157, 1000] {
        let (all, pages) = walk(&store, ReceiptQuery::new(org(EC)).limit(limit)).await;
        let got: Vec<_> = all.iter().map(position).collect();
        assert!(got.windows(2).all(|w| w[0] < w[1]), "strictly ordered");
        assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), expected);
        assert_eq!(pages, 157usize.div_ceil(limit as usize).max(1));
    }
    // A receipt added after the first page, later in the order, is still seen exactly once.
    let first = store
        .list_page(&ReceiptQuery::new(org(EC)).limit(10))
        .await
        .unwrap();
    store
        .put(&receipt(EC, 5, "late", Some(day(20))))
        .await
        .unwrap();
    let (rest, _) = walk(
        &store,
        ReceiptQuery::new(org(EC)).limit(10).after(first.next),
    )
    .await;
    assert_eq!(first.receipts.len() + rest.len(), 158);
    assert_eq!(rest.iter().filter(|r| r.receipt_id == "late").count(), 1);
    // limit 0 is clamped to 1
    let one = store
        .list_page(&ReceiptQuery::new(org(EC)).limit(0))
        .await
        .unwrap();
    assert_eq!(one.receipts.len(), 1);
    assert!(one.next.is_some());
    // the other creditor sees only its own
    let (theirs, _) = walk(&store, ReceiptQuery::new(org(EC2)).limit(4)).await;
    assert_eq!(theirs.len(), 30);
    assert!(theirs.iter().all(|r| r.fiscal_code.as_str() == EC2));
}
receipt_contract!(pagination_returns_every_receipt_exactly_once);

async fn date_bounds_are_inclusive(store: Store) {
    for d in 1..=10u32 {
        for j in 0..3u64 {
            let r = receipt(
                EC,
                u64::from(d) * 10 + j,
                &format!("d{d}-{j}"),
                Some(day(d)),
            );
            store.put(&r).await.unwrap();
        }
    }
    let q = |from, to| {
        ReceiptQuery::new(org(EC))
            .between(day(from), day(to))
            .limit(2)
    };
    let (got, _) = walk(&store, q(3, 5)).await;
    assert_eq!(got.len(), 9);
    assert!(
        got.iter()
            .all(|r| (day(3)..=day(5)).contains(&r.payment_date().unwrap()))
    );
    let (got, _) = walk(&store, q(10, 10)).await;
    assert_eq!(got.len(), 3);
    let (got, _) = walk(&store, q(6, 5)).await;
    assert!(got.is_empty());
    let mut only_from = ReceiptQuery::new(org(EC));
    only_from.from = Some(day(9));
    assert_eq!(walk(&store, only_from).await.0.len(), 6);
    let mut only_to = ReceiptQuery::new(org(EC));
    only_to.to = Some(day(1));
    assert_eq!(walk(&store, only_to).await.0.len(), 3);
    // a cursor before `from` does not widen the range
    let early = ReceiptCursor::new(day(1), "0", "a");
    let (got, _) = walk(&store, q(4, 4).after(Some(early))).await;
    assert_eq!(got.len(), 3);
}
receipt_contract!(date_bounds_are_inclusive);

async fn undated_receipts_are_listed_by_their_storage_day(store: Store) {
    let mut by_application = receipt(EC, 1, "app", None);
    by_application.application_date = Some(day(7));
    store.put(&by_application).await.unwrap();
    store.put(&receipt(EC, 2, "undated", None)).await.unwrap();
    let q = ReceiptQuery::new(org(EC)).between(day(7), day(7));
    let page = store.list_page(&q).await.unwrap();
    assert_eq!(page.receipts, vec![by_application]);
    let today = chrono::Utc::now().date_naive();
    let page = store
        .list_page(&ReceiptQuery::new(org(EC)).between(today, today))
        .await
        .unwrap();
    assert_eq!(page.receipts.len(), 1);
    assert_eq!(page.receipts[0].receipt_id, "undated");
}
receipt_contract!(undated_receipts_are_listed_by_their_storage_day);

async fn concurrent_puts_of_one_receipt_store_it_once(store: Store) {
    for round in 0..5u64 {
        let r = receipt(EC, round, &format!("race-{round}"), Some(day(1)));
        let tasks: Vec<_> = (0..24)
            .map(|_| {
                let (store, r) = (Arc::clone(&store), r.clone());
                tokio::spawn(async move { store.put(&r).await.unwrap() })
            })
            .collect();
        let mut stored = 0;
        for t in tasks {
            if t.await.unwrap() == PutOutcome::Stored {
                stored += 1;
            }
        }
        assert_eq!(stored, 1, "round {round}");
    }
    // Conflicting versions at once: one wins, every other is refused.
    let tasks: Vec<_> = (0..16u64)
        .map(|i| {
            let store = Arc::clone(&store);
            let mut r = receipt(EC, 99, "contested", Some(day(1)));
            r.payment_amount = pa_types::Amount::from_cents(100 + i);
            tokio::spawn(async move { store.put(&r).await })
        })
        .collect();
    let mut stored = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(PutOutcome::Stored) => stored += 1,
            Err(StoreError::Conflict { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(stored, 1);
    assert_eq!(store.count().await.unwrap(), 6);
}
receipt_contract!(concurrent_puts_of_one_receipt_store_it_once);

/// A store written before `list_page` existed: it gets the provided implementation.
struct ListOnly(MemoryReceiptStore);

#[async_trait::async_trait]
impl ReceiptStore for ListOnly {
    async fn put(&self, r: &Receipt) -> Result<PutOutcome, StoreError> {
        self.0.put(r).await
    }
    async fn list(&self, f: &pa_types::OrganizationFiscalCode) -> Result<Vec<Receipt>, StoreError> {
        self.0.list(f).await
    }
    async fn count(&self) -> Result<u64, StoreError> {
        self.0.count().await
    }
}

#[tokio::test]
async fn the_provided_list_page_keeps_the_contract() {
    let store: Store = Arc::new(ListOnly(MemoryReceiptStore::new()));
    pagination_returns_every_receipt_exactly_once(Arc::clone(&store)).await;
    let store: Store = Arc::new(ListOnly(MemoryReceiptStore::new()));
    date_bounds_are_inclusive(store).await;
}

#[test]
fn cursors_print_and_parse_and_garbage_is_refused() {
    let c = ReceiptCursor::new(day(3), "301000000000000144", "a/b/c");
    assert_eq!(c.to_string(), "2026-11-03/301000000000000144/a/b/c");
    assert_eq!(c.to_string().parse::<ReceiptCursor>().unwrap(), c);
    for bad in [
        "",
        "2026-11-03",
        "2026-11-03/123",
        "2026-13-03/123/x",
        "2026-11-03/12a/x",
        "2026-11-03//x",
        "2026-11-03/123/",
    ] {
        assert_eq!(bad.parse::<ReceiptCursor>(), Err(InvalidCursor), "{bad:?}");
    }
}

#[tokio::test]
async fn an_old_sqlite_file_gets_listing_dates() {
    // A file written by the store before listing by date existed (no payment_date column).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let r = receipt(EC, 1, "old", Some(day(4)));
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE pagopa_receipts (
                fiscal_code TEXT NOT NULL, notice_number TEXT NOT NULL, receipt_id TEXT NOT NULL,
                iuv TEXT NOT NULL, outcome TEXT NOT NULL, amount_cents INTEGER NOT NULL,
                stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                body TEXT NOT NULL, PRIMARY KEY (fiscal_code, notice_number, receipt_id))",
        )
        .unwrap();
        c.execute(
            "INSERT INTO pagopa_receipts VALUES (?1, ?2, 'old', 'x', 'OK', 12050, '2026-01-02T00:00:00Z', ?3)",
            rusqlite::params![EC, r.notice_number.as_str(), serde_json::to_string(&r).unwrap()],
        )
        .unwrap();
    }
    let store = SqliteReceiptStore::open(&path).unwrap();
    let page = store
        .list_page(&ReceiptQuery::new(org(EC)).between(day(4), day(4)))
        .await
        .unwrap();
    assert_eq!(page.receipts, vec![r.clone()]);
    assert_eq!(store.put(&r).await.unwrap(), PutOutcome::Duplicate);
}
