//! The TARI in installments: a position with the single payment and three rates in the
//! PositionBook. Rata 1 is paid through the embedded Checkout (which calls our paForNode like
//! the node); then the node's `paVerifyPaymentNotice` of the single payment is refused with
//! `PAA_PAGAMENTO_DUPLICATO`, rata 2 is still paid through paForNode, and the notice PDF of the
//! position shows the single payment and the three rates (read back by poppler's `pdftotext`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use examples::sportello::{self, Config};
use pagopa::node::{FaultCode, QrCode, RequestIds};
use pagopa::simulator::{NodeSimulator, SimulatorError};

use common::{http, page, spid_login};

/// The demo ente (Comune di Esempio) and the partner's station.
const ENTE_CF: &str = "12345678903";
const GIULIA: &str = "BNCGLI80A41H501C";

/// `data-notice` and `data-state` of the row `id` of the options table.
fn row(html: &str, id: &str) -> (String, String) {
    let at = html
        .find(&format!("<tr id=\"{id}\""))
        .unwrap_or_else(|| panic!("no row {id} in {html}"));
    let tr = &html[at..at + html[at..].find('>').unwrap()];
    let attr = |name: &str| {
        let a = tr.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tr[a..a + tr[a..].find('"').unwrap()].to_owned()
    };
    (attr("data-notice"), attr("data-state"))
}

fn pdftotext(pdf: &std::path::Path) -> Option<String> {
    match std::process::Command::new("pdftotext")
        .args([pdf.to_str().unwrap(), "-"])
        .output()
    {
        Ok(out) => {
            assert!(out.status.success(), "{out:?}");
            let text = String::from_utf8(out.stdout).unwrap();
            Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
        }
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("pdftotext not available ({e}): skipping the PDF check");
            None
        }
        Err(e) => panic!("pdftotext is required in CI: {e}"),
    }
}

#[tokio::test]
async fn a_paid_rate_closes_the_single_payment_and_the_notice_shows_the_rates() {
    let data = tempfile::tempdir().unwrap();
    let app = sportello::start(Config {
        port: 0,
        cns_port: 0,
        data_dir: data.path().to_owned(),
        ..Config::default()
    })
    .await
    .unwrap();
    let base = app.base_url.clone();
    let root = format!("http://{}", app.addr);
    let giulia = spid_login(&base, GIULIA, "Giulia", "Bianchi").await;

    let area = page(&format!("{base}/area"), &giulia).await;
    assert!(area.contains("id=\"tributi\""), "{area}");
    let p = page(&format!("{base}/tributi"), &giulia).await;
    let (single, s) = row(&p, "opzione-unica");
    assert_eq!(s, "UNPAID");
    let rates: Vec<(String, String)> = (1..=3).map(|k| row(&p, &format!("rata-{k}"))).collect();
    assert!(rates.iter().all(|(_, s)| s == "UNPAID"), "{p}");
    let mut all: Vec<&String> = rates.iter().map(|(n, _)| n).collect();
    all.push(&single);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 4, "four distinct notices: {p}");
    assert!(p.contains("186.00 euro") && p.contains("62.00 euro"), "{p}");
    // The same position on a second visit.
    let again = page(&format!("{base}/tributi"), &giulia).await;
    assert_eq!(row(&again, "opzione-unica").0, single);

    // Rata 1 through pagoPA Checkout.
    let r = http()
        .post(format!("{base}/tributi/{}/paga", rates[0].0))
        .header("cookie", &giulia)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let checkout = r.headers()["location"].to_str().unwrap().to_owned();
    let back = http().post(format!("{checkout}/pay")).send().await.unwrap();
    assert_eq!(back.status(), 303, "{:?}", back.text().await);
    let done = page(back.headers()["location"].to_str().unwrap(), &giulia).await;
    assert!(done.contains("Pagamento completato"), "{done}");
    assert_eq!(row(&done, "rata-1").1, "PAID", "{done}");
    assert_eq!(row(&done, "opzione-unica").1, "CLOSED", "{done}");
    assert_eq!(row(&done, "rata-2").1, "UNPAID", "{done}");
    assert!(!done.contains("id=\"paga-opzione-unica\""), "{done}");

    // The node asks for the single payment: refused as a duplicate.
    let node = NodeSimulator::new(
        format!("{root}/pagopa/paForNode"),
        RequestIds {
            id_pa: ENTE_CF.into(),
            id_broker_pa: "12345678903".into(),
            id_station: "12345678903_01".into(),
        },
    );
    let qr = |n: &str| QrCode {
        fiscal_code: ENTE_CF.parse().unwrap(),
        notice_number: n.parse().unwrap(),
    };
    match node.verify(&qr(&single)).await {
        Err(SimulatorError::Fault(f)) => {
            assert_eq!(f.code, FaultCode::PagamentoDuplicato, "{f:?}");
        }
        other => panic!("{other:?}"),
    }
    // Rata 1 again: a duplicate too; the portal refuses a second cart for it.
    assert!(matches!(
        node.verify(&qr(&rates[0].0)).await,
        Err(SimulatorError::Fault(f)) if f.code == FaultCode::PagamentoDuplicato
    ));
    let r = http()
        .post(format!("{base}/tributi/{}/paga", single))
        .header("cookie", &giulia)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    // Rata 2 still payable, at its amount, through paForNode.
    let desc = node.verify(&qr(&rates[1].0)).await.unwrap();
    assert_eq!(desc.payment_option.amount.cents(), 6200);
    let paid = node.pay(&qr(&rates[1].0)).await.unwrap();
    assert_eq!(paid.receipt.payment_amount.cents(), 6200);
    let p = page(&format!("{base}/tributi"), &giulia).await;
    assert_eq!(row(&p, "rata-2").1, "PAID", "{p}");
    assert_eq!(row(&p, "rata-3").1, "UNPAID", "{p}");
    assert!(p.contains("PARTIALLY_PAID"), "{p}");

    // Another citizen cannot pay Giulia's rate through the portal.
    let mario = spid_login(&base, "RSSMRA85T10A562S", "Mario", "Rossi").await;
    let r = http()
        .post(format!("{base}/tributi/{}/paga", rates[2].0))
        .header("cookie", &mario)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The printable notice of the position: the single payment and the three rates.
    let r = http()
        .get(format!("{base}/tributi/avviso.pdf"))
        .header("cookie", &giulia)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = data.path().join("tari.pdf");
    std::fs::write(&pdf, r.bytes().await.unwrap()).unwrap();
    let Some(text) = pdftotext(&pdf) else { return };
    let code = |n: &str| {
        n.as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    };
    for needle in [
        "TARI 2026 - Tassa sui rifiuti",
        "Puoi pagare per intero o in 3 rate",
        "RATA UNICA",
        "186,00",
        "RATA 1 entro il",
        "RATA 2 entro il",
        "RATA 3 entro il",
        "62,00",
        "Giulia Bianchi",
        &code(&single),
        &code(&rates[0].0),
        &code(&rates[1].0),
        &code(&rates[2].0),
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    assert!(!text.contains("RATA 4"), "{text}");
    app.stop();
}

/// Two instances on one PostgreSQL database: the position created on A is the one B answers
/// for; rata 1 paid on A closes the single payment on B; and when receipts of the single
/// payment and of rata 2 of another citizen reach A and B at once, exactly one of them
/// chooses the option.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_database_share_the_positions_and_their_rule() {
    let Some(db_url) = pa_postgres::testing::fresh_database().await.unwrap() else {
        return;
    };
    let start = |dir: std::path::PathBuf| {
        let db_url = db_url.clone();
        async move {
            sportello::start(Config {
                port: 0,
                cns_port: 0,
                data_dir: dir,
                database_url: Some(db_url),
                ..Config::default()
            })
            .await
            .unwrap()
        }
    };
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(da.path().to_owned()).await;
    let b = start(db.path().to_owned()).await;
    let node = |app: &sportello::Running| {
        NodeSimulator::new(
            format!("http://{}/pagopa/paForNode", app.addr),
            RequestIds {
                id_pa: ENTE_CF.into(),
                id_broker_pa: "12345678903".into(),
                id_station: "12345678903_01".into(),
            },
        )
    };
    let qr = |n: &str| QrCode {
        fiscal_code: ENTE_CF.parse().unwrap(),
        notice_number: n.parse().unwrap(),
    };
    let (node_a, node_b) = (node(&a), node(&b));

    let on_a = spid_login(&a.base_url, GIULIA, "Giulia", "Bianchi").await;
    let on_b = spid_login(&b.base_url, GIULIA, "Giulia", "Bianchi").await;
    let pa = page(&format!("{}/tributi", a.base_url), &on_a).await;
    let pb = page(&format!("{}/tributi", b.base_url), &on_b).await;
    for id in ["opzione-unica", "rata-1", "rata-2", "rata-3"] {
        assert_eq!(row(&pa, id).0, row(&pb, id).0, "{id}: one position");
    }
    let (single, rata1) = (row(&pa, "opzione-unica").0, row(&pa, "rata-1").0);
    node_a.pay(&qr(&rata1)).await.unwrap();
    match node_b.verify(&qr(&single)).await {
        Err(SimulatorError::Fault(f)) => assert_eq!(f.code, FaultCode::PagamentoDuplicato),
        other => panic!("{other:?}"),
    }
    let pb = page(&format!("{}/tributi", b.base_url), &on_b).await;
    assert_eq!(row(&pb, "rata-1").1, "PAID", "{pb}");
    assert_eq!(row(&pb, "opzione-unica").1, "CLOSED", "{pb}");

    // Another citizen: both options activated, then both receipts delivered at once.
    let mario = spid_login(&a.base_url, "RSSMRA85T10A562S", "Mario", "Rossi").await;
    let pm = page(&format!("{}/tributi", a.base_url), &mario).await;
    let (single, rata2) = (row(&pm, "opzione-unica").0, row(&pm, "rata-2").0);
    let mut receipts = Vec::new();
    for (n, node) in [(&single, &node_a), (&rata2, &node_b)] {
        let d = node.verify(&qr(n)).await.unwrap();
        let data = node
            .activate(&qr(n), d.payment_option.amount)
            .await
            .unwrap();
        receipts.push(node.receipt_for(&qr(n), &data));
    }
    let (ra, rb) = (receipts[0].clone(), receipts[1].clone());
    let (na, nb) = (node_a.clone(), node_b.clone());
    let (x, y) = tokio::join!(
        tokio::spawn(async move { na.send_receipt(&ra).await }),
        tokio::spawn(async move { nb.send_receipt(&rb).await })
    );
    x.unwrap().unwrap();
    y.unwrap().unwrap();
    let pm = page(&format!("{}/tributi", a.base_url), &mario).await;
    let states: Vec<String> = ["opzione-unica", "rata-1", "rata-2", "rata-3"]
        .iter()
        .map(|id| row(&pm, id).1)
        .collect();
    // Both payments count (the money arrived); the first applied closed the other option's
    // unpaid installments, the second closed nothing.
    let single_first = ["PAID", "CLOSED", "PAID", "CLOSED"];
    let rate_first = ["PAID", "UNPAID", "PAID", "UNPAID"];
    assert!(
        states == single_first || states == rate_first,
        "one option chose: {states:?}\n{pm}"
    );
    a.stop();
    b.stop();
}
