//! OPI flows: write and parse a flow of 10,000 mandati (two beneficiaries each, with SIOPE
//! classification, invoice, ARCONET data, SEPA and pagoPA payment data), against `xmllint`
//! parsing the same file as a process (`--noout --stream`, how an ente's pipeline usually
//! checks a flow) timed in the same run.
//!
//! Targets (issue 10): write ≤ 100 ms, parse ≥ 100 MB/s, constant memory (the writer and the
//! reader hold one order at a time).

use std::hint::black_box;
use std::io::Write as _;
use std::process::Command;

use benches::opi::{mandato, write_all};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use siopeplus::*;

const N: u32 = 10_000;

fn bench(c: &mut Criterion) {
    let mandati: Vec<Mandato> = (1..=N).map(mandato).collect();
    let xml = write_all(&mandati, Vec::new());
    eprintln!("flow of {N} mandati: {} bytes", xml.len());

    let mut g = c.benchmark_group("siopeplus_flow");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("write_10k_mandati", |b| {
        b.iter(|| {
            black_box(write_all(
                black_box(&mandati),
                Vec::with_capacity(xml.len()),
            ))
        })
    });
    g.bench_function("parse_10k_mandati", |b| {
        b.iter(|| {
            let mut r = FlowReader::new(black_box(&xml[..])).expect("header");
            let mut n = 0u32;
            while let Some(o) = r.next_ordinativo().expect("order") {
                black_box(&o);
                n += 1;
            }
            assert_eq!(n, N);
        })
    });
    // The shared reader alone (every event, nothing mapped): what the flow parse is built on.
    g.bench_function("stream_events_10k_mandati", |b| {
        b.iter(|| {
            let mut r = xmldsig::stream::Reader::new(black_box(&xml[..]));
            let mut n = 0u64;
            loop {
                match r.next().expect("event") {
                    xmldsig::stream::Event::Start(_) => n += 1,
                    xmldsig::stream::Event::Eof => break,
                    _ => {}
                }
            }
            black_box(n)
        })
    });
    g.bench_function("parse_and_validate_10k_mandati", |b| {
        b.iter(|| {
            let mut r = FlowReader::new(black_box(&xml[..])).expect("header");
            let mut v = FlowValidator::new();
            while let Some(o) = r.next_ordinativo().expect("order") {
                if let Ordinativo::Mandato(m) = &o {
                    v.check_mandato(m).expect("valid");
                }
            }
        })
    });
    if Command::new("xmllint").arg("--version").output().is_ok() {
        let mut f = tempfile::NamedTempFile::new().expect("tmp");
        f.write_all(&xml).expect("write");
        let path = f.path().to_path_buf();
        g.bench_function("reference_xmllint_stream_parse", |b| {
            b.iter(|| {
                let st = Command::new("xmllint")
                    .args(["--noout", "--stream"])
                    .arg(&path)
                    .status()
                    .expect("xmllint");
                assert!(st.success());
            })
        });
    } else {
        eprintln!("xmllint not installed: reference not timed");
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
