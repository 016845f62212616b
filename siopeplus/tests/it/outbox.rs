//! The durable outbox: crash injection at every step, against the simulator.

use std::sync::Arc;
use std::time::Duration;

use siopeplus::simulator::{Fault, SimOptions, Simulator, TestPki};
use siopeplus::*;

use crate::a2a::{A2A, config, signed_flow_xml};
use crate::outbox_store::{Backend, DynStore, Fixture, by_backend};

by_backend!(
    happy_path_reaches_completed_with_messages_stored,
    a_crash_at_any_step_loses_nothing_and_uploads_once,
    lost_upload_answer_is_resolved_from_the_channel_not_by_resending,
    unknown_outcome_waits_for_the_grace_period,
    refused_flows_end_in_ack_ko_and_throttling_leaves_them_pending,
    the_lease_is_renewed_while_a_slow_upload_runs,
);

struct Env {
    db: Fixture,
    pki: TestPki,
    sim: Simulator,
}

/// `None`: PostgreSQL asked for and no test server configured.
async fn env(b: Backend) -> Option<Env> {
    let db = Fixture::new(b).await?;
    let pki = TestPki::generate("Test CA").unwrap();
    let sim = Simulator::start(&pki, SimOptions::default()).await.unwrap();
    Some(Env { db, pki, sim })
}

/// A fresh process: new store handle, new client, same database.
async fn outbox(env: &Env, faults: Option<Arc<dyn FailPoints>>) -> Outbox<DynStore> {
    let store = Arc::new(DynStore(env.db.open().await));
    let client = A2aClient::new(config(
        &env.sim,
        &env.pki,
        env.pki.client_identity(A2A, 1000).unwrap(),
    ))
    .unwrap();
    let o = Outbox::new(store, client, Duration::ZERO);
    match faults {
        Some(f) => o.with_fail_points(f),
        None => o,
    }
}

fn uploads_of(sim: &Simulator, id: &str) -> usize {
    sim.received()
        .iter()
        .filter(|f| f.identificativo_flusso == id)
        .count()
}

async fn happy_path_reaches_completed_with_messages_stored(b: Backend) {
    let Some(env) = env(b).await else { return };
    let o = outbox(&env, None).await;
    let id = o
        .enqueue("FL-OK", &signed_flow_xml("FL-OK", 2))
        .await
        .unwrap();
    assert_eq!(o.store().get(id).await.unwrap().state, OutboxState::Pending);
    let entries = o.process().await.unwrap();
    assert_eq!(entries[0].state, OutboxState::Completed, "{entries:?}");
    assert_eq!(entries[0].prog_flusso, Some(1));
    // ACQUISITO in the esito, then executed in the giornale di cassa.
    assert_eq!(
        entries[0].detail.as_deref(),
        Some(
            "mandato 1/2026: executed [GIORNALE ESEGUITO]; mandato 2/2026: executed [GIORNALE ESEGUITO]; reversale 1/2026: executed [GIORNALE ESEGUITO]"
        )
    );
    let orders = o.store().orders(id).await.unwrap();
    assert_eq!(orders.len(), 3);
    assert!(
        orders.iter().all(|o| o.state == OrderState::Executed),
        "{orders:?}"
    );
    assert_eq!(orders[0].importo, Some(crate::common::eur("1255.50")));
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
        ["ack", "esitoflusso", "esitoapplicativo", "giornale"]
    );
    assert!(o.store().open_entries().await.unwrap().is_empty());
    // Nothing doubled: a second enqueue of the same flow is refused.
    let err = o.enqueue("FL-OK", b"<x/>").await.unwrap_err();
    assert!(
        matches!(err, Error::Outbox(OutboxError::Duplicate(_))),
        "{err}"
    );
    assert_eq!(uploads_of(&env.sim, "FL-OK"), 1);
}

async fn a_crash_at_any_step_loses_nothing_and_uploads_once(b: Backend) {
    for step in [
        Step::AfterPersist,
        Step::BeforeUpload,
        Step::AfterUpload,
        Step::AfterAck,
        Step::AfterEsitoFlusso,
        Step::AfterEsitoApplicativo,
    ] {
        let Some(env) = env(b).await else { return };
        let ident = "FL-CRASH";
        let first = outbox(&env, Some(Arc::new(FailOnce::at(step)))).await;
        let enq = first.enqueue(ident, &signed_flow_xml(ident, 1)).await;
        let crashed = match enq {
            Err(e) => {
                assert_eq!(step, Step::AfterPersist, "{e}");
                true
            }
            Ok(_) => match first.process().await {
                Err(Error::Outbox(OutboxError::Injected(_))) => true,
                Err(e) => panic!("{step:?}: {e}"),
                Ok(_) => false,
            },
        };
        assert!(crashed, "{step:?} was never reached");
        drop(first);
        // Restart: a new process over the same database finishes the job.
        let second = outbox(&env, None).await;
        let entries = second.process().await.unwrap();
        let e = second.store().open_entries().await.unwrap();
        assert!(e.is_empty(), "{step:?}: still open {e:?} / {entries:?}");
        let all = second.store().get(1).await.unwrap();
        assert_eq!(all.state, OutboxState::Completed, "{step:?}: {all:?}");
        assert_eq!(
            uploads_of(&env.sim, ident),
            1,
            "{step:?}: uploaded more than once"
        );
    }
}

async fn lost_upload_answer_is_resolved_from_the_channel_not_by_resending(b: Backend) {
    let Some(env) = env(b).await else { return };
    let o = outbox(&env, None).await;
    o.enqueue("FL-LOST", &signed_flow_xml("FL-LOST", 1))
        .await
        .unwrap();
    env.sim.inject(&[Fault::LoseUploadAnswer]);
    let entries = o.process().await.unwrap();
    assert_eq!(entries[0].state, OutboxState::Uploading, "{entries:?}");
    assert!(entries[0].detail.as_deref().unwrap().contains("500"));
    let entries = o.process().await.unwrap();
    assert_eq!(entries[0].state, OutboxState::Completed, "{entries:?}");
    assert_eq!(uploads_of(&env.sim, "FL-LOST"), 1);
}

async fn unknown_outcome_waits_for_the_grace_period(b: Backend) {
    let Some(env) = env(b).await else { return };
    let store = Arc::new(DynStore(env.db.open().await));
    let client = A2aClient::new(config(
        &env.sim,
        &env.pki,
        env.pki.client_identity(A2A, 1000).unwrap(),
    ))
    .unwrap();
    let o = Outbox::new(store.clone(), client, Duration::from_secs(3600))
        .with_fail_points(Arc::new(FailOnce::at(Step::BeforeUpload)));
    o.enqueue("FL-WAIT", &signed_flow_xml("FL-WAIT", 1))
        .await
        .unwrap();
    assert!(o.process().await.is_err());
    // The request never left, but the outbox cannot know: within the grace period it waits.
    let entries = o.process().await.unwrap();
    assert_eq!(entries[0].state, OutboxState::Uploading);
    assert_eq!(uploads_of(&env.sim, "FL-WAIT"), 0);
}

async fn refused_flows_end_in_ack_ko_and_throttling_leaves_them_pending(b: Backend) {
    let Some(env) = env(b).await else { return };
    let o = outbox(&env, None).await;
    // Unsigned: the simulator answers KO.
    let unsigned = write_flow(&crate::common::flow("FL-KO", 1), Vec::new(), false).unwrap();
    o.enqueue("FL-KO", &unsigned).await.unwrap();
    env.sim
        .inject(&[Fault::Status(503), Fault::Status(503), Fault::Status(503)]);
    let entries = o.process().await.unwrap();
    assert_eq!(entries[0].state, OutboxState::Pending, "{entries:?}");
    let entries = o.process().await.unwrap();
    assert_eq!(entries[0].state, OutboxState::AckKo, "{entries:?}");
    assert!(
        entries[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("non e' firmato")
    );
    // Refused as a whole: each of its orders is refused with the ACK's code.
    let orders = o.store().orders(entries[0].id).await.unwrap();
    assert_eq!(orders.len(), 2, "{orders:?}");
    for x in &orders {
        assert_eq!(
            (x.state, x.esito.as_deref(), x.code.as_deref()),
            (OrderState::Refused, Some("ACK KO"), Some("4")),
            "{x:?}"
        );
    }
}

async fn the_lease_is_renewed_while_a_slow_upload_runs(b: Backend) {
    let Some(env) = env(b).await else { return };
    env.sim.set_upload_delay(Duration::from_millis(1500));
    let o = outbox(&env, None)
        .await
        .with_lease(Duration::from_millis(600));
    o.enqueue("FL-SLOW", &signed_flow_xml("FL-SLOW", 1))
        .await
        .unwrap();
    let other = env.db.open().await;
    let (done, stolen) = tokio::join!(o.process(), async {
        // Well past the 600 ms lease taken before the upload started.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let got = other
            .claim("other", Duration::from_secs(60), 0, 10)
            .await
            .unwrap();
        (got, other.get(1).await.unwrap().state)
    });
    assert!(stolen.0.is_empty(), "taken over mid-upload: {stolen:?}");
    assert_eq!(stolen.1, OutboxState::Uploading);
    assert_eq!(done.unwrap()[0].state, OutboxState::Completed);
    assert_eq!(uploads_of(&env.sim, "FL-SLOW"), 1);
}
