//! Constant memory: writing and reading a flow of 20,000 mandati (about 60 MB of XML) through a
//! pipe must not grow the process's peak memory by more than a few MB. A separate test binary,
//! so that no other test runs in the process. Linux only (reads `VmHWM` from `/proc`).
#![allow(clippy::unwrap_used)]

#[path = "it/common.rs"]
mod common;

use std::io::BufReader;

use siopeplus::*;

fn peak_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn stream(n: u32) -> (u64, u64) {
    let (r, w) = std::io::pipe().unwrap();
    let writer = std::thread::spawn(move || {
        let mut fw = FlowWriter::new(
            std::io::BufWriter::new(w),
            &common::testata("FL-MEM"),
            2026,
            WriterOptions::default(),
        )
        .unwrap();
        for i in 1..=n {
            fw.write_mandato(&common::mandato(i)).unwrap();
        }
        fw.finish().unwrap();
    });
    let mut reader = FlowReader::new(BufReader::new(r)).unwrap();
    let mut v = FlowValidator::new();
    let (mut count, mut cents) = (0u64, 0u64);
    while let Some(o) = reader.next_ordinativo().unwrap() {
        if let Ordinativo::Mandato(m) = o {
            v.check_mandato(&m).unwrap();
            count += 1;
            cents += m.importo_mandato.cents();
        }
    }
    writer.join().unwrap();
    (count, cents)
}

#[test]
fn writing_and_reading_a_large_flow_takes_constant_memory() {
    // Warm up: allocator arenas, the number bitsets, thread stacks.
    assert_eq!(stream(2_000).0, 2_000);
    let Some(before) = peak_kib() else {
        eprintln!("no /proc/self/status: memory check skipped");
        return;
    };
    let (count, cents) = stream(20_000);
    assert_eq!(count, 20_000);
    assert_eq!(cents, 20_000 * 125_550);
    let after = peak_kib().unwrap();
    let growth_mib = after.saturating_sub(before) / 1024;
    eprintln!(
        "peak memory: {before} KiB before, {after} KiB after 20,000 mandati (+{growth_mib} MiB)"
    );
    assert!(growth_mib < 16, "peak memory grew by {growth_mib} MiB");
}
