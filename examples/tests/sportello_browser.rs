//! The citizen's whole path through the sportello in a real headless Chromium, driven over
//! WebDriver (chromedriver) with fantoccini. Each step asserts what the page shows; on failure a
//! screenshot is saved under `target/browser-artifacts/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`: without them the test is skipped, unless `CI`
//! is set, where their absence is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use examples::sportello::{self, Config};
use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromedriver() -> Option<PathBuf> {
    let p = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    p.exists().then_some(p)
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn connect(port: u16) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1600"
            ]
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if let Ok(c) = ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {url}");
}

async fn click(c: &Client, css: &str) -> Result<(), String> {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .map_err(|e| format!("element {css}: {e}"))?
        .click()
        .await
        .map_err(|e| format!("click {css}: {e}"))
}

/// Polls until the element's text contains `needle` (pages change under the driver after a click:
/// an element found on the old page goes stale, so every read is retried until the deadline).
async fn wait_contains(c: &Client, what: &str, css: &str, needle: &str) -> Result<(), String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            match el.text().await {
                Ok(t) if t.contains(needle) => return Ok(()),
                Ok(t) => last = t,
                Err(e) => last = format!("(unreadable: {e})"),
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "{what}: expected {css} to contain {needle:?}, found {last:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn expect_contains(what: &str, haystack: &str, needle: &str) -> Result<(), String> {
    if haystack.contains(needle) {
        Ok(())
    } else {
        Err(format!(
            "{what}: expected to contain {needle:?}, found {haystack:?}"
        ))
    }
}

/// The citizen's path, step by step; returns the first failed expectation.
async fn citizen_path(c: &Client, base: &str) -> Result<(), String> {
    // 1. Home: the login choice.
    c.goto(&format!("{base}/"))
        .await
        .map_err(|e| e.to_string())?;
    wait_contains(c, "home", "h1", "Accedi ai servizi online").await?;
    wait_contains(c, "home", "#entra-cns", "Entra con CNS").await?;
    click(c, "#entra-spid").await?;

    // 2. The library's IdP chooser ("Entra con SPID" and the IdP list), then the in-process
    //    SPID test IdP, which received a signed AuthnRequest.
    wait_contains(c, "chooser", ".italia-it-button-text", "Entra con SPID").await?;
    click(c, "#spid-idp-list li.spid-idp-button-link a").await?;
    wait_contains(c, "IdP page", "h1", "IdP SPID di prova").await?;
    wait_contains(c, "IdP page", "main", "/spid/metadata").await?;
    click(c, "#idp-accedi").await?;

    // 3. Back from the ACS with a validated identity.
    wait_contains(c, "area", "#benvenuto", "Mario Rossi").await?;
    wait_contains(c, "identity", "#identita", "RSSMRA85T10A562S").await?;
    wait_contains(c, "identity", "#identita", "SPID").await?;
    wait_contains(c, "identity", "#identita", "/test-idp/spid").await?;

    // 4. File a request: it is protocolled and gets a pagoPA notice.
    click(c, "#invia-istanza").await?;
    wait_contains(c, "request", "main", "Istanza protocollata").await?;
    wait_contains(c, "request", "main", "REGISTRO UFFICIALE(E).0000001").await?;
    wait_contains(c, "request", "main", "3010 0000 0000 0001 44").await?;
    wait_contains(c, "request", "main", "25.00 euro").await?;
    let qr = c
        .find(Locator::Css(".qr svg"))
        .await
        .map_err(|e| format!("QR code: {e}"))?;
    let qr_html = qr.html(false).await.map_err(|e| e.to_string())?;
    expect_contains("QR", &qr_html, "<path")?;
    wait_contains(c, "IO", "#messaggi-io", "Avviso di pagamento").await?;

    // 5. The printable notice is offered; "Paga con pagoPA" goes to Checkout, whose page
    //    pays through our paForNode endpoint (verify, paGetPaymentV2, paSendRTV2) and sends
    //    the browser back with the receipt.
    wait_contains(c, "notice PDF", "#scarica-avviso", "Scarica l'avviso (PDF)").await?;
    click(c, "#paga").await?;
    wait_contains(c, "Checkout", "body", "3010 0000 0000 0001 44").await?;
    click(c, "#pay").await?;
    wait_contains(
        c,
        "back from Checkout",
        "#esito-pagamento",
        "Pagamento completato",
    )
    .await?;
    wait_contains(c, "receipt", "#ricevuta", "25.00 euro").await?;
    wait_contains(c, "receipt", "#ricevuta", "301000000000000144").await?;
    wait_contains(c, "receipt", "#ricevuta", "Ok").await?;
    wait_contains(c, "IO", "#messaggi-io", "Pagamento ricevuto").await?;

    // 5b. The cancel path: a second request, Checkout's "cancel", nothing paid.
    c.goto(&format!("{base}/area"))
        .await
        .map_err(|e| e.to_string())?;
    click(c, "#invia-istanza").await?;
    wait_contains(c, "second request", "main", "REGISTRO UFFICIALE(E).0000002").await?;
    click(c, "#paga").await?;
    click(c, "#cancel").await?;
    wait_contains(c, "cancelled", "#esito-pagamento", "Pagamento annullato").await?;
    wait_contains(c, "cancelled", "main", "da pagare").await?;

    // 6. The operator: requests, receipts, the OPI flow to the treasurer, the certificate.
    c.goto(&format!("{base}/operatore"))
        .await
        .map_err(|e| e.to_string())?;
    wait_contains(c, "operator", "#tabella-istanze", "pagata").await?;
    wait_contains(c, "operator", "#tabella-ricevute", "301000000000000144").await?;
    wait_contains(c, "operator", "#certificato", "Giorni rimanenti").await?;
    click(c, "#invia-flusso").await?;
    wait_contains(c, "OPI flow", "#esito-flusso", "SPORTELLO-").await?;
    wait_contains(c, "OPI flow", "#esito-flusso", "completed").await?;

    // 7. Log out, then in again with CIE: same citizen (same fiscal code), same requests.
    c.goto(&format!("{base}/area"))
        .await
        .map_err(|e| e.to_string())?;
    click(c, "#esci").await?;
    click(c, "#entra-cie").await?;
    wait_contains(c, "CIE IdP page", "h1", "IdP CIE di prova").await?;
    wait_contains(c, "CIE IdP page", "main", "/cie/metadata").await?;
    click(c, "#idp-accedi").await?;
    wait_contains(c, "CIE identity", "#identita", "CIE").await?;
    wait_contains(c, "CIE identity", "#identita", "/test-idp/cie").await?;
    wait_contains(c, "CIE identity", "#identita", "RSSMRA85T10A562S").await?;
    wait_contains(
        c,
        "CIE requests",
        "#istanze",
        "REGISTRO UFFICIALE(E).0000001",
    )
    .await?;
    Ok(())
}

/// A partner's deployment with two enti under path prefixes: the same browser logs in at each
/// through its own SPID entity and files a request with that ente's fee and register.
async fn two_enti_path(c: &Client, root: &str) -> Result<(), String> {
    c.goto(&format!("{root}/"))
        .await
        .map_err(|e| e.to_string())?;
    wait_contains(c, "partner home", "#enti", "Comune di Roccaverde").await?;
    wait_contains(c, "partner home", "#enti", "Comune di Valfonda").await?;
    for (prefix, name, fee) in [
        ("/roccaverde", "Comune di Roccaverde", "16.00 euro"),
        ("/valfonda", "Comune di Valfonda", "30.00 euro"),
    ] {
        let base = format!("{root}{prefix}");
        c.goto(&format!("{base}/"))
            .await
            .map_err(|e| e.to_string())?;
        wait_contains(c, name, "header", name).await?;
        click(c, "#entra-spid").await?;
        wait_contains(c, "chooser", ".italia-it-button-text", "Entra con SPID").await?;
        click(c, "#spid-idp-list li.spid-idp-button-link a").await?;
        wait_contains(c, "IdP page", "main", &format!("{base}/pub-ag-full/")).await?;
        click(c, "#idp-accedi").await?;
        wait_contains(c, "area", "#benvenuto", "Mario Rossi").await?;
        wait_contains(c, "area", "header", name).await?;
        click(c, "#invia-istanza").await?;
        wait_contains(c, "request", "main", "(E).0000001").await?;
        wait_contains(c, "request", "main", fee).await?;
    }
    Ok(())
}

fn partner_config(data: &Path) -> Config {
    let mut config: Config = serde_json::from_value(serde_json::json!({
        "partner": {
            "name": "Partner Tecnologico S.p.A.", "vat_number": "01234567897",
            "email": "spid@partner.example", "broker": "01234567897", "station": "01234567897_01"
        },
        "enti": [
            {"id": "roccaverde", "name": "Comune di Roccaverde", "ipa": "c_r001",
             "fiscal_code": "00000000018", "segregation": "01",
             "iban": "IT25O0306909606100000012345", "fee_cents": 1600, "aoo": "AOO_RV",
             "path_prefix": "/roccaverde"},
            {"id": "valfonda", "name": "Comune di Valfonda", "ipa": "c_v002",
             "fiscal_code": "00000000026", "segregation": "02",
             "iban": "IT78T0760101600000000654321", "fee_cents": 3000, "aoo": "AOO_VF",
             "path_prefix": "/valfonda"}
        ]
    }))
    .unwrap();
    config.port = 0;
    config.cns_port = 0;
    config.data_dir = data.to_owned();
    config
}

async fn screenshot(c: &Client, dir: &Path) {
    let _ = std::fs::create_dir_all(dir);
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(dir.join("sportello-failure.png"), png);
    }
    if let Ok(src) = c.source().await {
        let _ = std::fs::write(dir.join("sportello-failure.html"), src);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizen_path_in_chromium() {
    let Some(driver_bin) = chromedriver().filter(|_| Path::new(CHROMIUM).exists()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: chromium and chromedriver are required for the browser test"
        );
        eprintln!("skipped: chromium/chromedriver not installed");
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let app = sportello::start(Config {
        port: 0,
        cns_port: 0,
        data_dir: data.path().to_owned(),
        ..Config::default()
    })
    .await
    .unwrap();
    let port = free_port();
    let _driver = Driver(
        Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = connect(port).await;
    let partner_data = tempfile::tempdir().unwrap();
    let partner = sportello::start(partner_config(partner_data.path()))
        .await
        .unwrap();
    let mut result = citizen_path(&client, &app.base_url).await;
    if result.is_ok() {
        result = two_enti_path(&client, &format!("http://{}", partner.addr)).await;
    }
    partner.stop();
    if let Err(e) = &result {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser-artifacts");
        screenshot(&client, &dir).await;
        let _ = client.close().await;
        panic!("{e} (screenshot in {})", dir.display());
    }
    client.close().await.unwrap();
    app.stop();
}
