//! Times parse and parse + exclusive C14N of a file (default: a generated ~1 MB SAML-like
//! document): `parse_perf [FILE] [ITERATIONS]`. For profiling; the criterion bench is in
//! `benches/benches/xmldsig_verify.rs`.

use std::time::Instant;

use xmldsig::{C14nAlgorithm, C14nOptions, Document, NodeId, canonicalize};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let data = match args.get(1) {
        Some(f) if f != "-" => std::fs::read(f)?,
        _ => {
            let one = std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/c14n/06-saml.xml"
            ))?;
            let one = String::from_utf8(one)?;
            let a = one.find("<saml:Assertion").ok_or("no assertion")?;
            let b = one.find("</saml:Assertion>").ok_or("no end")? + "</saml:Assertion>".len();
            let mut s = String::from(&one[..a]);
            let mut i = 0;
            while s.len() < 1_000_000 {
                s.push_str(&one[a..b].replace("_assert1", &format!("_a{i}")));
                s.push('\n');
                i += 1;
            }
            s.push_str(&one[b..]);
            s.into_bytes()
        }
    };
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    // Best of n: robust against other processes on the machine.
    let mb = data.len() as f64 / 1e6;
    let mut best_parse = f64::MAX;
    let mut best_both = f64::MAX;
    let mut out = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let doc = Document::parse(&data)?;
        best_parse = best_parse.min(t.elapsed().as_secs_f64());
        drop(doc);
        let t = Instant::now();
        let doc = Document::parse(&data)?;
        out.clear();
        canonicalize(
            &doc,
            NodeId::DOCUMENT,
            &C14nOptions::new(C14nAlgorithm::Exclusive),
            &mut out,
        );
        std::hint::black_box(&out);
        best_both = best_both.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{} bytes, best of {n}: parse {:.0} MB/s, parse + exc-c14n {:.0} MB/s",
        data.len(),
        mb / best_parse,
        mb / best_both
    );
    Ok(())
}
