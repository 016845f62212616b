//! The operator's reconciliation page: a citizen pays through Checkout, the receipt is matched
//! to the (simulated) PSP flow and treasurer's provvisorio, and "Emetti le reversali a
//! copertura" sends the reversale through the SIOPE+ outbox to the A2A simulator, whose giornale
//! di cassa then closes the provvisorio.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use examples::sportello::{self, Config, Running};

use common::{http, page, spid_login};

const MARIO: &str = "RSSMRA85T10A562S";

async fn start() -> (tempfile::TempDir, Running) {
    let data = tempfile::tempdir().unwrap();
    let app = sportello::start(Config {
        port: 0,
        cns_port: 0,
        data_dir: data.path().to_owned(),
        ..Config::default()
    })
    .await
    .unwrap();
    (data, app)
}

/// Files a request and pays it through the embedded Checkout; returns the fee paid as shown.
async fn file_and_pay(base: &str, root: &str, session: &str) {
    let r = http()
        .post(format!("{base}/richieste"))
        .header("cookie", session)
        .form(&[
            ("subject", "Certificato"),
            ("body", "Chiedo un certificato."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let req = r.headers()["location"].to_str().unwrap().to_owned();
    let r = http()
        .post(format!("{root}{req}/paga"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let checkout = r.headers()["location"].to_str().unwrap().to_owned();
    let back = http().post(format!("{checkout}/pay")).send().await.unwrap();
    assert_eq!(back.status(), 303);
    let done = page(back.headers()["location"].to_str().unwrap(), session).await;
    assert!(done.contains("Pagamento completato"), "{done}");
}

fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id} in {html}"));
    let rest = &html[at..];
    let end = [rest.find("</table>"), rest.find("</div>")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

#[tokio::test]
async fn payments_are_matched_and_the_reversali_a_copertura_close_the_provvisori() {
    let (_d, app) = start().await;
    let base = app.base_url.clone();
    let root = format!("http://{}", app.addr);
    let mario = spid_login(&base, MARIO, "Mario", "Rossi").await;

    // Nothing yet.
    let p = page(&format!("{base}/operatore/riconciliazione"), &mario).await;
    assert!(section(&p, "abbinati").matches("<tr>").count() == 1, "{p}");
    assert!(!p.contains("emetti-reversali"), "{p}");

    file_and_pay(&base, &root, &mario).await;
    file_and_pay(&base, &root, &mario).await;
    let p = page(&format!("{base}/operatore/riconciliazione"), &mario).await;
    // One PSP, one day: one flow, one provvisorio, both payments in it.
    let matched = section(&p, "abbinati");
    assert_eq!(matched.matches("<tr>").count(), 2, "header + one row: {p}");
    assert!(matched.contains("<td>2</td>"), "two payments: {matched}");
    assert!(
        matched.contains("LGPE") || matched.contains("-S0001"),
        "{matched}"
    );
    let totals = section(&p, "totali");
    assert!(
        totals.contains("<dt>Non abbinati</dt><dd>0.00 euro</dd>"),
        "{totals}"
    );
    assert!(
        totals.contains("<dt>Ricevute non rendicontate</dt><dd>0.00 euro</dd>"),
        "{totals}"
    );
    let abbinati = totals
        .split("<dt>Abbinati</dt><dd>")
        .nth(1)
        .unwrap()
        .split(" euro")
        .next()
        .unwrap();
    let ricevute = totals
        .split("<dt>Ricevute</dt><dd>")
        .nth(1)
        .unwrap()
        .split(" euro")
        .next()
        .unwrap();
    assert_eq!(abbinati, ricevute, "{totals}");
    assert_ne!(abbinati, "0.00");
    assert!(p.contains("<p id=\"regolarizzati\">nessuno</p>"), "{p}");
    assert!(p.contains("id=\"emetti-reversali\""), "{p}");

    // Only operators: a citizen who is not one is refused, the page and the button alike.
    let giulia = spid_login(&base, "BNCGLI80A41H501C", "Giulia", "Bianchi").await;
    let r = http()
        .get(format!("{base}/operatore/riconciliazione"))
        .header("cookie", &giulia)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http()
        .post(format!("{base}/operatore/riconciliazione/reversali"))
        .header("cookie", &giulia)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Emit: signed, sent through the outbox, accepted and executed by the simulator.
    let r = http()
        .post(format!("{base}/operatore/riconciliazione/reversali"))
        .header("cookie", &mario)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let p = page(&format!("{base}/operatore/riconciliazione"), &mario).await;
    assert_eq!(section(&p, "abbinati").matches("<tr>").count(), 1, "{p}");
    assert!(!p.contains("id=\"emetti-reversali\""), "{p}");
    assert!(!p.contains("<p id=\"regolarizzati\">nessuno</p>"), "{p}");
    assert!(
        section(&p, "totali").contains("<dt>Provvisori aperti</dt><dd>0.00 euro</dd>"),
        "{p}"
    );
    let op = page(&format!("{base}/operatore"), &mario).await;
    assert!(
        op.contains("href=\"/operatore/riconciliazione\"") || op.contains("riconciliazione\""),
        "the operator page links the reconciliation: {op}"
    );
    let esito = section(&op, "esito-flusso");
    assert!(esito.contains("COPERTURA-"), "{esito}");
    assert!(
        esito.contains("<dt>Stato</dt><dd>completed</dd>"),
        "{esito}"
    );
}
