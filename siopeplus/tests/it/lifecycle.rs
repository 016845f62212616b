//! The whole life of an order in the outbox, on SQLite and PostgreSQL: every message of a flow
//! is followed (ACK, ricezione, the first esito applicativo per order, later esiti, the
//! giornale di cassa), each order keeps its state, and a permanent refusal of the upload is
//! given up with its reason.

use std::sync::Arc;
use std::time::Duration;

use pa_types::Amount;
use siopeplus::simulator::{Fault, SimOptions, Simulator, TestPki};
use siopeplus::*;

use crate::a2a::{A2A, config, signed_flow_xml};
use crate::outbox_store::{Backend, DynStore, Fixture, by_backend};

by_backend!(
    orders_are_followed_through_later_esiti_and_the_giornale,
    a_permanent_refusal_of_the_upload_is_given_up_with_its_reason,
    orders_are_stored_per_entry_and_upserted,
);

struct Env {
    db: Fixture,
    pki: TestPki,
    sim: Simulator,
}

async fn env(b: Backend, opts: SimOptions) -> Option<Env> {
    let db = Fixture::new(b).await?;
    let pki = TestPki::generate("Test CA").unwrap();
    let sim = Simulator::start(&pki, opts).await.unwrap();
    Some(Env { db, pki, sim })
}

async fn outbox(env: &Env) -> Outbox<DynStore> {
    let store = Arc::new(DynStore(env.db.open().await));
    let client = A2aClient::new(config(
        &env.sim,
        &env.pki,
        env.pki.client_identity(A2A, 1000).unwrap(),
    ))
    .unwrap();
    Outbox::new(store, client, Duration::ZERO)
}

fn states(orders: &[OrderStatus]) -> Vec<(TipoOrdinativo, u64, OrderState, Option<&str>)> {
    orders
        .iter()
        .map(|o| (o.tipo, o.numero, o.state, o.code.as_deref()))
        .collect()
}

async fn orders_are_followed_through_later_esiti_and_the_giornale(b: Backend) {
    let opts = SimOptions {
        defer_execution: true,
        ..SimOptions::default()
    };
    let Some(env) = env(b, opts).await else {
        return;
    };
    env.sim.refuse_order(
        TipoOrdinativo::Mandato,
        2,
        1041,
        "IBAN del beneficiario non valido",
    );
    let o = outbox(&env).await;
    let id = o
        .enqueue("FL-LIFE", &signed_flow_xml("FL-LIFE", 2))
        .await
        .unwrap();
    // ACK, ricezione, first esito: the flow is not over.
    let e = o.process().await.unwrap();
    assert_eq!(e[0].state, OutboxState::InCorso, "{e:?}");
    let orders = o.store().orders(id).await.unwrap();
    assert_eq!(
        states(&orders),
        vec![
            (TipoOrdinativo::Mandato, 1, OrderState::Accepted, None),
            (
                TipoOrdinativo::Mandato,
                2,
                OrderState::Refused,
                Some("1041")
            ),
            (TipoOrdinativo::Reversale, 1, OrderState::Accepted, None),
        ]
    );
    assert_eq!(
        orders[1].detail.as_deref(),
        Some("IBAN del beneficiario non valido")
    );
    assert_eq!(orders[1].esito.as_deref(), Some("NON ACQUISITO"));
    // Nothing new on the channel: it stays open, and is still followed.
    let e = o.process().await.unwrap();
    assert_eq!(e[0].state, OutboxState::InCorso);
    assert_eq!(o.store().open_entries().await.unwrap().len(), 1);

    // The treasurer executes the accepted orders: a later esito and the giornale.
    assert_eq!(env.sim.execute_pending(), 1);
    let e = o.process().await.unwrap();
    assert_eq!(e[0].state, OutboxState::Completed, "{e:?}");
    let orders = o.store().orders(id).await.unwrap();
    assert_eq!(
        states(&orders),
        vec![
            (TipoOrdinativo::Mandato, 1, OrderState::Executed, None),
            (
                TipoOrdinativo::Mandato,
                2,
                OrderState::Refused,
                Some("1041")
            ),
            (TipoOrdinativo::Reversale, 1, OrderState::Executed, None),
        ]
    );
    assert_eq!(
        e[0].detail.as_deref(),
        Some(
            "mandato 1/2026: executed [GIORNALE ESEGUITO]; \
             mandato 2/2026: refused (codice 1041) [NON ACQUISITO]; \
             reversale 1/2026: executed [GIORNALE ESEGUITO]"
        )
    );
    let kinds: Vec<String> = o
        .store()
        .messages(id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "ack",
            "esitoflusso",
            "esitoapplicativo",
            "esitoapplicativo",
            "giornale"
        ]
    );
    // Final: nothing more to do, nothing uploaded again.
    assert!(o.store().open_entries().await.unwrap().is_empty());
    assert!(o.process().await.unwrap().is_empty());
    assert_eq!(env.sim.received().len(), 1);
    let recent = o.store().recent_entries(10).await.unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].state, OutboxState::Completed);
}

async fn a_permanent_refusal_of_the_upload_is_given_up_with_its_reason(b: Backend) {
    let Some(env) = env(b, SimOptions::default()).await else {
        return;
    };
    let o = outbox(&env).await;
    o.enqueue("FL-413", &signed_flow_xml("FL-413", 1))
        .await
        .unwrap();
    env.sim.inject(&[Fault::Status(413)]);
    let e = o.process().await.unwrap();
    assert_eq!(e[0].state, OutboxState::Failed, "{e:?}");
    let detail = e[0].detail.as_deref().unwrap();
    assert!(detail.starts_with("gave up: upload refused"), "{detail}");
    assert!(detail.contains("413"), "{detail}");
    // Not retried: the next rounds leave it alone.
    assert!(o.process().await.unwrap().is_empty());
    assert!(env.sim.received().is_empty());
    // A throttled upload (429 every time) is not a refusal: it stays pending and is sent
    // once the channel answers.
    o.enqueue("FL-429", &signed_flow_xml("FL-429", 1))
        .await
        .unwrap();
    env.sim.inject(&[Fault::Status(429); 3]);
    let e = o.process().await.unwrap();
    assert_eq!(e[0].state, OutboxState::Pending, "{e:?}");
    let e = o.process().await.unwrap();
    assert_eq!(e[0].state, OutboxState::Completed, "{e:?}");
    let recent = o.store().recent_entries(1).await.unwrap();
    assert_eq!(recent[0].identificativo_flusso, "FL-429");
}

async fn orders_are_stored_per_entry_and_upserted(b: Backend) {
    let Some(db) = Fixture::new(b).await else {
        return;
    };
    let s = db.open().await;
    let a = s.insert("FL-A", b"<x/>").await.unwrap();
    let c = s.insert("FL-C", b"<x/>").await.unwrap();
    let mut m = OrderStatus::sent(
        TipoOrdinativo::Mandato,
        7,
        2026,
        Some(Amount::from_cents(1)),
    );
    s.put_order(a, &m).await.unwrap();
    s.put_order(
        a,
        &OrderStatus::sent(TipoOrdinativo::Reversale, 7, 2026, None),
    )
    .await
    .unwrap();
    m.state = OrderState::Refused;
    m.code = Some("12".into());
    m.importo = None;
    s.put_order(a, &m).await.unwrap();
    let v = s.orders(a).await.unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].state, OrderState::Refused);
    assert_eq!(v[0].code.as_deref(), Some("12"));
    assert_eq!(
        v[0].importo,
        Some(Amount::from_cents(1)),
        "kept when not given"
    );
    assert_eq!(v[1].tipo, TipoOrdinativo::Reversale);
    assert!(s.orders(c).await.unwrap().is_empty());
    let e = s.put_order(9999, &m).await.unwrap_err();
    assert!(matches!(e, OutboxError::NotFound(9999)), "{e}");
    // Another "process" reads the same.
    assert_eq!(db.open().await.orders(a).await.unwrap(), v);
}
