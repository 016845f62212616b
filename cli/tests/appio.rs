//! `pa appio ...` against the in-process IO mock.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use appio::mock::{MockConfig, MockProfile, MockServer};

async fn pa(args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    // Run the binary off the runtime so that the mock keeps serving meanwhile.
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_pa"))
            .args(&args)
            .env("TEST_IO_KEY", "k-123")
            .env_remove("IO_SUBSCRIPTION_KEY")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const TEMPLATE: &str = r#"{
  "subject": "Avviso TARI {{anno}} per {{nome}}",
  "markdown": "Gentile {{nome}}, le ricordiamo che e' disponibile l'avviso di pagamento della TARI {{anno}}. Importo: {{importo}} euro.",
  "payment": {"notice_number": "{{avviso}}", "amount": "{{importo}}", "payee": "00488410010"}
}"#;

fn write_inputs(dir: &Path) {
    std::fs::write(dir.join("t.json"), TEMPLATE).unwrap();
    std::fs::write(
        dir.join("rows.csv"),
        "id,fiscal_code,nome,anno,importo,avviso\n\
         a,RSSMRA85T10A562S,Mario,2025,12.50,301000000000000144\n\
         b,VRDLGU80A01H501Q,Luigi,2025,7.00,301000000000000144\n\
         c,BNCNNA90A41F205W,Anna,2025,7.00,301000000000000144\n",
    )
    .unwrap();
}

#[tokio::test]
async fn send_status_and_profile() {
    let mock = MockServer::start(MockConfig::default()).await.unwrap();
    mock.set_profile("BNCNNA90A41F205W".parse().unwrap(), MockProfile::NotFound);
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let csv = dir.path().join("rows.csv");
    let t = dir.path().join("t.json");
    let base = mock.base_url();
    let send = [
        "appio",
        "send",
        "--csv",
        csv.to_str().unwrap(),
        "--template",
        t.to_str().unwrap(),
        "--key-env",
        "TEST_IO_KEY",
        "--base-url",
        &base,
    ];
    let (code, out, err) = pa(&send).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("sent:         2"), "{out}");
    assert!(out.contains("skipped:      1 (not_on_io)"), "{out}");
    assert_eq!(mock.messages().len(), 2);

    // Again: nothing new is sent.
    let (code, out, _) = pa(&send).await;
    assert_eq!(code, 0);
    assert!(out.contains("already sent: 2"), "{out}");
    assert_eq!(mock.messages().len(), 2);

    let journal = format!("{}.journal.sqlite", csv.display());
    let (code, out, _) = pa(&["appio", "status", "--journal", &journal]).await;
    assert_eq!(code, 0);
    assert!(out.contains("rows in journal: 3"), "{out}");
    assert!(out.contains("sent: 2"), "{out}");
    let (code, out, _) = pa(&[
        "appio",
        "status",
        "--journal",
        &journal,
        "--check-delivery",
        "--key-env",
        "TEST_IO_KEY",
        "--base-url",
        &base,
    ])
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PROCESSED: 2"), "{out}");
    assert!(out.contains("sent (PROCESSED): 2"), "{out}");

    let (code, out, _) = pa(&[
        "appio",
        "profile",
        "RSSMRA85T10A562S",
        "--key-env",
        "TEST_IO_KEY",
        "--base-url",
        &base,
    ])
    .await;
    assert_eq!(code, 0);
    assert!(out.contains("accepts messages"), "{out}");
    let (code, out, _) = pa(&[
        "appio",
        "profile",
        "BNCNNA90A41F205W",
        "--key-env",
        "TEST_IO_KEY",
        "--base-url",
        &base,
    ])
    .await;
    assert_eq!(code, 1);
    assert!(out.contains("not on IO"), "{out}");
}

#[tokio::test]
async fn errors_exit_1_with_the_reason() {
    let mock = MockServer::start(MockConfig::default()).await.unwrap();
    let base = mock.base_url();
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let csv = dir.path().join("rows.csv");
    let t = dir.path().join("t.json");
    // Missing key variable.
    let (code, _, err) = pa(&[
        "appio",
        "send",
        "--csv",
        csv.to_str().unwrap(),
        "--template",
        t.to_str().unwrap(),
        "--key-env",
        "NO_SUCH_VAR_FOR_PA",
        "--base-url",
        &base,
    ])
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("NO_SUCH_VAR_FOR_PA is not set"), "{err}");
    // Template using a column the CSV lacks.
    std::fs::write(&t, TEMPLATE.replace("{{anno}}", "{{year}}")).unwrap();
    let (code, _, err) = pa(&[
        "appio",
        "send",
        "--csv",
        csv.to_str().unwrap(),
        "--template",
        t.to_str().unwrap(),
        "--key-env",
        "TEST_IO_KEY",
        "--base-url",
        &base,
    ])
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("CSV has no column \"year\""), "{err}");
    // Invalid fiscal code.
    let (code, _, err) = pa(&[
        "appio",
        "profile",
        "XYZ",
        "--key-env",
        "TEST_IO_KEY",
        "--base-url",
        &base,
    ])
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("fiscal code"), "{err}");
    // Missing journal.
    let (code, _, err) = pa(&["appio", "status", "--journal", "/nonexistent/j.sqlite"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("no such journal"), "{err}");
    // Usage error.
    let (code, _, _) = pa(&["appio", "send"]).await;
    assert_eq!(code, 2);
}

#[tokio::test]
async fn a_failed_row_makes_send_exit_1() {
    let mock = MockServer::start(MockConfig::default()).await.unwrap();
    mock.set_profile(
        "VRDLGU80A01H501Q".parse().unwrap(),
        MockProfile::RecipientForbidden,
    );
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let csv = dir.path().join("rows.csv");
    let t = dir.path().join("t.json");
    let (code, out, _) = pa(&[
        "appio",
        "send",
        "--csv",
        csv.to_str().unwrap(),
        "--template",
        t.to_str().unwrap(),
        "--key-env",
        "TEST_IO_KEY",
        "--base-url",
        &mock.base_url(),
    ])
    .await;
    assert_eq!(code, 1);
    assert!(
        out.contains("failed:       1 (recipient_forbidden)"),
        "{out}"
    );
    assert!(out.contains("failed b (recipient_forbidden)"), "{out}");
}

#[tokio::test]
async fn ctrl_c_stops_cleanly_and_a_rerun_resumes() {
    let mock = MockServer::start(MockConfig {
        latency: std::time::Duration::from_millis(20),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.json"), TEMPLATE).unwrap();
    // 60 rows: 20 ms per request, two requests per row, one row at a time: about 2.4 s.
    let mut csv = String::from("fiscal_code,nome,anno,importo,avviso\n");
    for cf in ["RSSMRA85T10A562S", "VRDLGU80A01H501Q", "BNCNNA90A41F205W"] {
        for i in 0..20 {
            // Same citizen, distinct rows (keys are line numbers).
            csv.push_str(&format!("{cf},N{i},2025,1.{i:02},301000000000000144\n"));
        }
    }
    let csv_path = dir.path().join("rows.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let t = dir.path().join("t.json");
    let base = mock.base_url();
    let args: Vec<String> = [
        "appio",
        "send",
        "--csv",
        csv_path.to_str().unwrap(),
        "--template",
        t.to_str().unwrap(),
        "--key-env",
        "TEST_IO_KEY",
        "--base-url",
        &base,
        "--concurrency",
        "1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let child = Command::new(env!("CARGO_BIN_EXE_pa"))
        .args(&args)
        .env("TEST_IO_KEY", "k-123")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until some messages arrived, then interrupt as Ctrl-C would.
    for _ in 0..200 {
        if mock.messages().len() >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        stdout.contains("rows not processed; run again to resume"),
        "{stdout}"
    );
    assert!(stdout.contains("ambiguous:    0"), "{stdout}");
    let sent_first = mock.messages().len();
    assert!(sent_first < 60, "{sent_first}");

    let (code, out, err) = pa(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!("already sent: {sent_first}")),
        "{out}"
    );
    assert_eq!(mock.messages().len(), 60, "every row exactly once");
}

#[tokio::test]
async fn services_feed_and_logo_check() {
    use appio::services::{
        BaseMetadata, Organization, PayloadMetadata, ServiceData, ServicePayload, ServiceScope,
    };
    let mock = MockServer::start(MockConfig::default()).await.unwrap();
    let base = mock.base_url();
    let m = appio::ManageClient::new(
        appio::IoClient::builder(appio::SubscriptionKey::new("k-123"))
            .base_url(&base)
            .build()
            .unwrap(),
    );
    for name in ["TARI", "Mensa scolastica"] {
        let org = Organization::new("Comune", "00488410010".parse().unwrap()).unwrap();
        let p = ServicePayload::new(
            ServiceData::new(name, "Servizio del comune", org).unwrap(),
            PayloadMetadata {
                base: BaseMetadata::new(ServiceScope::Local),
                topic_id: 3,
            },
        );
        m.create_service(&p).await.unwrap();
    }
    let (code, out, err) = pa(&[
        "appio",
        "services",
        "--manage-key-env",
        "TEST_IO_KEY",
        "--base-url",
        &base,
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\tdraft\tMensa scolastica"), "{out}");
    assert!(out.contains("services: 2"), "{out}");

    let cf = "RSSMRA85T10A562S";
    let hash = appio::FiscalCodeHash::of(&cf.parse().unwrap()).to_string();
    mock.set_feed("2025-03-01", vec![hash.clone()], vec![]);
    let feed = |date: &str, extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "appio",
            "feed",
            date,
            "--key-env",
            "TEST_IO_KEY",
            "--base-url",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        a.push(base.clone());
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };
    let run = |a: Vec<String>| async move {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        pa(&refs).await
    };
    let (code, out, _) = run(feed("2025-03-01", &[])).await;
    assert_eq!(code, 0);
    assert!(out.contains("1 subscribed, 0 unsubscribed"), "{out}");
    assert!(out.contains(&format!("+{hash}")), "{out}");
    let (code, out, _) = run(feed("2025-03-01", &["--fiscal-code", cf])).await;
    assert_eq!(code, 0);
    assert!(out.contains("citizen: subscribed"), "{out}");
    let (code, _, err) = run(feed("2025-03-02", &[])).await;
    assert_eq!(code, 1);
    assert!(err.contains("not available yet"), "{err}");
    let (code, _, err) = run(feed("2025-3-2", &[])).await;
    assert_eq!(code, 1);
    assert!(err.contains("YYYY-MM-DD"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("logo.png");
    image::RgbaImage::from_pixel(120, 80, image::Rgba([1, 2, 3, 255]))
        .save(&png)
        .unwrap();
    let (code, out, err) = pa(&["appio", "logo-check", png.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("PNG 120x80"), "{out}");
    let (code, _, err) = pa(&["appio", "logo-check", "--square", png.to_str().unwrap()]).await;
    assert_eq!(code, 1);
    assert!(err.contains("must be square"), "{err}");
    let jpg = dir.path().join("logo.jpg");
    std::fs::write(&jpg, b"\xFF\xD8\xFF\xE0 not a png").unwrap();
    let (code, _, err) = pa(&["appio", "logo-check", jpg.to_str().unwrap()]).await;
    assert_eq!(code, 1);
    assert!(err.contains("not a PNG"), "{err}");
}
