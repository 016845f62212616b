//! paForNode and reporting throughput (issue 8).
//!
//! - `pagopa_node_send_rt`: handling of `paSendRTV2` (parse, caller checks, durable store, SOAP
//!   answer) with the SQLite store (WAL, `synchronous=FULL`, one fsync per receipt), against the
//!   same service with the in-memory store (the cost of durability read from one run), and the
//!   idempotent answer to a duplicate.
//! - `pagopa_reporting_parse`: streaming `FlussoRiversamento` parse in MB/s, against `xmllint
//!   --noout --stream` (a C parser, run as a process) on the same file.

use std::hint::black_box;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pa_types::{Amount, OrganizationFiscalCode};
use pagopa::NoticeNumber;
use pagopa::node::*;
use pagopa::reporting::FlowParser;

const EC: &str = "80016350821";

struct Host;

#[async_trait]
impl PaForNodeHost for Host {
    async fn verify_payment_notice(
        &self,
        _: &VerifyPaymentNoticeRequest,
    ) -> Result<NoticeDescription, Fault> {
        Err(Fault::new(FaultCode::PagamentoSconosciuto))
    }
    async fn get_payment(&self, _: Operation, _: &GetPaymentRequest) -> Result<PaymentData, Fault> {
        Err(Fault::new(FaultCode::PagamentoSconosciuto))
    }
}

fn ec() -> OrganizationFiscalCode {
    EC.parse().expect("valid")
}

fn receipt(id: &str) -> Receipt {
    let transfer = |i: u8, cents: u64| ReceiptTransfer {
        id_transfer: i,
        amount: Amount::from_cents(cents),
        fiscal_code_pa: ec(),
        company_name: None,
        target: ReceiptTransferTarget::Iban("IT60X0542811101000000123456".into()),
        remittance_information: "TARI 2026".into(),
        transfer_category: "9/0101101IM/".into(),
        metadata: vec![],
    };
    Receipt {
        version: ReceiptVersion::V2,
        receipt_id: id.into(),
        notice_number: NoticeNumber::parse("301000000000000144").expect("valid"),
        fiscal_code: ec(),
        outcome: Outcome::Ok,
        creditor_reference_id: "01000000000000144".into(),
        payment_amount: Amount::from_cents(12050),
        description: "TARI 2026".into(),
        company_name: "Comune di Prova".into(),
        office_name: None,
        debtor: Subject::new(EntityType::F, "RSSMRA80A01H501U", "Mario Rossi"),
        transfers: vec![transfer(1, 10000), transfer(2, 2050)],
        id_psp: "BCITITMM".into(),
        psp_fiscal_code: Some("00799960158".into()),
        psp_partita_iva: None,
        psp_company_name: "Intesa Sanpaolo".into(),
        id_channel: "00799960158_01".into(),
        channel_description: "app".into(),
        payer: None,
        payment_method: Some("creditCard".into()),
        payment_note: None,
        fee: Some(Amount::from_cents(150)),
        primary_ci_incurred_fee: None,
        id_bundle: None,
        id_ci_bundle: None,
        payment_date_time: Some("2026-11-23T10:15:00".into()),
        application_date: None,
        transfer_date: None,
        metadata: vec![],
        stand_in: None,
    }
}

fn request(id: &str) -> String {
    write_request(&NodeRequest::SendRtV2(SendReceiptRequest {
        ids: RequestIds {
            id_pa: EC.into(),
            id_broker_pa: "15376371009".into(),
            id_station: "15376371009_01".into(),
        },
        receipt: receipt(id),
    }))
}

fn config() -> StationConfig {
    StationConfig::new(EC, "15376371009", "15376371009_01")
}

fn send_rt(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = PaForNodeService::new(
        config(),
        Host,
        SqliteReceiptStore::open(dir.path().join("receipts.db")).expect("open"),
    );
    let memory = PaForNodeService::new(config(), Host, MemoryReceiptStore::new());
    let seq = AtomicU64::new(0);
    let mut g = c.benchmark_group("pagopa_node_send_rt");
    g.throughput(Throughput::Elements(1));
    g.sample_size(30);
    g.bench_function("sqlite_new_receipt", |b| {
        b.iter(|| {
            let body = request(&format!("s{}", seq.fetch_add(1, Ordering::Relaxed)));
            let r = rt.block_on(sqlite.handle(Some("paSendRTV2"), body.as_bytes()));
            assert!(r.fault.is_none());
            black_box(r)
        })
    });
    g.bench_function("sqlite_duplicate", |b| {
        let body = request("dup");
        b.iter(|| black_box(rt.block_on(sqlite.handle(Some("paSendRTV2"), body.as_bytes()))))
    });
    g.bench_function("reference_memory_store", |b| {
        b.iter(|| {
            let body = request(&format!("m{}", seq.fetch_add(1, Ordering::Relaxed)));
            black_box(rt.block_on(memory.handle(Some("paSendRTV2"), body.as_bytes())))
        })
    });
    g.finish();
}

fn flow(n: usize) -> Vec<u8> {
    let mut s = String::with_capacity(n * 420 + 1200);
    s.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><FlussoRiversamento xmlns="http://www.digitpa.gov.it/schemas/2011/Pagamenti/"><versioneOggetto>1.0</versioneOggetto><identificativoFlusso>2026-11-24BCITITMM-S1</identificativoFlusso><dataOraFlusso>2026-11-24T08:00:00</dataOraFlusso><identificativoUnivocoRegolamento>R1</identificativoUnivocoRegolamento><dataRegolamento>2026-11-24</dataRegolamento><istitutoMittente><identificativoUnivocoMittente><tipoIdentificativoUnivoco>B</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>BCITITMM</codiceIdentificativoUnivoco></identificativoUnivocoMittente></istitutoMittente><istitutoRicevente><identificativoUnivocoRicevente><tipoIdentificativoUnivoco>G</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>80016350821</codiceIdentificativoUnivoco></identificativoUnivocoRicevente></istitutoRicevente>"#);
    s.push_str(&format!(
        "<numeroTotalePagamenti>{n}</numeroTotalePagamenti><importoTotalePagamenti>{}</importoTotalePagamenti>",
        Amount::from_cents(n as u64 * 1234)
    ));
    for i in 0..n {
        s.push_str(&format!(
            "\n  <datiSingoliPagamenti>\n    <identificativoUnivocoVersamento>{i:017}</identificativoUnivocoVersamento>\n    <identificativoUnivocoRiscossione>{i:032x}</identificativoUnivocoRiscossione>\n    <indiceDatiSingoloPagamento>1</indiceDatiSingoloPagamento>\n    <singoloImportoPagato>12.34</singoloImportoPagato>\n    <codiceEsitoSingoloPagamento>0</codiceEsitoSingoloPagamento>\n    <dataEsitoSingoloPagamento>2026-11-23</dataEsitoSingoloPagamento>\n  </datiSingoliPagamenti>"
        ));
    }
    s.push_str("</FlussoRiversamento>");
    s.into_bytes()
}

fn reporting(c: &mut Criterion) {
    let data = flow(20_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("flow.xml");
    std::fs::write(&file, &data).expect("write");
    let mut g = c.benchmark_group("pagopa_reporting_parse");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    g.bench_function("flow_parser", |b| {
        b.iter(|| {
            let mut p = FlowParser::new(&data[..]).expect("header");
            let mut n = 0u32;
            while let Some(x) = p.next_payment().expect("payment") {
                n += u32::from(x.transfer_index);
            }
            black_box(n)
        })
    });
    if Command::new("xmllint").arg("--version").output().is_ok() {
        g.bench_function("reference_xmllint_stream_process", |b| {
            b.iter(|| {
                let o = Command::new("xmllint")
                    .args(["--noout", "--stream"])
                    .arg(&file)
                    .output()
                    .expect("xmllint");
                assert!(o.status.success());
            })
        });
    }
    g.finish();
}

criterion_group!(benches, send_rt, reporting);
criterion_main!(benches);
