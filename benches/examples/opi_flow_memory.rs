//! Peak memory and CPU time of the OPI flow reader outside criterion: `write N PATH` writes a
//! flow of N mandati (the bench's orders) to a file, `read PATH` parses it with
//! [`FlowReader`] from a buffered file, `events PATH` only reads the shared reader's events.
//! Run under `/usr/bin/time -v` to compare peak RSS across N, and next to `xmllint --stream`.

use std::io::{BufReader, BufWriter};

use benches::opi::{mandato, testata};
use siopeplus::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("write") => {
            let n: u32 = args[2].parse().expect("N");
            let f = std::fs::File::create(&args[3]).expect("create");
            let opts = WriterOptions {
                id: Some("FLUSSO1".into()),
                indent: false,
            };
            let mut w = FlowWriter::new(BufWriter::new(f), &testata(), 2026, opts).expect("header");
            for i in 1..=n {
                w.write_mandato(&mandato(i)).expect("valid");
            }
            w.finish().expect("finish");
        }
        Some("read") => {
            let f = std::fs::File::open(&args[2]).expect("open");
            let mut r = FlowReader::new(BufReader::new(f)).expect("header");
            let mut n = 0u64;
            while let Some(o) = r.next_ordinativo().expect("order") {
                std::hint::black_box(&o);
                n += 1;
            }
            println!("{n} orders");
        }
        Some("events") => {
            let f = std::fs::File::open(&args[2]).expect("open");
            let mut r = xmldsig::stream::Reader::new(BufReader::new(f));
            let mut n = 0u64;
            loop {
                match r.next().expect("event") {
                    xmldsig::stream::Event::Eof => break,
                    _ => n += 1,
                }
            }
            println!("{n} events");
        }
        _ => eprintln!("usage: opi_flow_memory write N PATH | read PATH | events PATH"),
    }
}
