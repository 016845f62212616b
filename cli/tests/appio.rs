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
