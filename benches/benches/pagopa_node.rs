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

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pa_types::Amount;
use pagopa::NoticeNumber;
use pagopa::node::*;
use pagopa::reporting::FlowParser;

use benches::node::{UnknownNotices as Host, send_rt_request, station as config};

fn request(id: &str) -> String {
    send_rt_request(
        id,
        NoticeNumber::parse("301000000000000144").expect("valid"),
    )
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
