//! Notice numbers: parse + verify and generate, against a straightforward reference
//! implementation (`String` + `str::parse::<u64>` + `format!`, how a first version is usually
//! written) timed on the same input.
//!
//! Target (issue 7): ≥ 10 M notice numbers per second on one core for both operations.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pagopa::{
    IuvAllocator, MemorySequence, NoticeNumber, SegregationCode, SequenceAllocator, SqliteSequence,
};

const N: usize = 4096;

fn inputs() -> Vec<String> {
    // Deterministic spread of segregation codes and bases.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..N)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let seg = SegregationCode::new((x % 100) as u8).expect("0..=99");
            NoticeNumber::new_aux3(seg, (x >> 8) % 10_000_000_000_000)
                .expect("13 digits")
                .to_string()
        })
        .collect()
}

/// Reference parse + verify: length, digits, aux digit, mod 93 via `str::parse`.
fn reference_verify(s: &str) -> bool {
    if s.len() != 18 || !s.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    match &s[..1] {
        "1" => true,
        "0" | "2" | "3" => {
            let n: u64 = s[..16].parse().unwrap_or(0);
            let cd: u64 = s[16..].parse().unwrap_or(100);
            n % 93 == cd
        }
        _ => false,
    }
}

/// Reference generation with `format!`.
fn reference_generate(seg: u8, base: u64) -> String {
    let first = format!("3{seg:02}{base:013}");
    let n: u64 = first.parse().unwrap_or(0);
    format!("{first}{:02}", n % 93)
}

fn bench(c: &mut Criterion) {
    let inputs = inputs();
    let mut g = c.benchmark_group("notice_number");
    g.throughput(Throughput::Elements(N as u64));

    g.bench_function("parse_verify/pagopa", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for s in &inputs {
                ok += usize::from(NoticeNumber::parse(black_box(s)).is_ok());
            }
            assert_eq!(ok, N);
        })
    });
    g.bench_function("parse_verify/reference", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for s in &inputs {
                ok += usize::from(reference_verify(black_box(s)));
            }
            assert_eq!(ok, N);
        })
    });

    let seg = SegregationCode::new(1).expect("01");
    g.bench_function("generate/pagopa", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for base in 0..N as u64 {
                let n = NoticeNumber::new_aux3(seg, black_box(base)).expect("13 digits");
                acc = acc.wrapping_add(u64::from(n.as_str().as_bytes()[17]));
            }
            acc
        })
    });
    g.bench_function("generate/reference", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for base in 0..N as u64 {
                let n = reference_generate(1, black_box(base));
                acc = acc.wrapping_add(u64::from(n.as_bytes()[17]));
            }
            acc
        })
    });
    g.finish();
}

/// IUV allocation: one durable SQLite reservation per IUV (fsync per commit), blocks of 100,
/// and the in-memory sequence as the floor.
fn bench_alloc(c: &mut Criterion) {
    let creditor = "80016350821".parse().expect("11 digits");
    let seg = SegregationCode::new(1).expect("01");
    let dir = std::env::temp_dir().join(format!("pagopa-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut g = c.benchmark_group("iuv_alloc");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    for block in [1u64, 100] {
        let seq = SqliteSequence::open(dir.join(format!("block{block}.sqlite"))).expect("open");
        let alloc = SequenceAllocator::new(seq).with_block_size(block);
        g.bench_function(format!("sqlite_block{block}"), |b| {
            b.iter(|| alloc.allocate(&creditor, seg).expect("allocate"))
        });
    }
    let alloc = SequenceAllocator::new(MemorySequence::new());
    g.bench_function("memory", |b| {
        b.iter(|| alloc.allocate(&creditor, seg).expect("allocate"))
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench, bench_alloc);
criterion_main!(benches);
