//! Read arbitrary bytes with the streaming reader, whole and through a small buffer (size from
//! the first byte) so that tokens cross buffer ends. Must never panic; both reads must give the
//! same events or the same error, and the reader must accept exactly what the tree parser
//! accepts (the tree also refuses duplicate IDs).
#![no_main]

use std::io::{BufRead, BufReader, Read};

use libfuzzer_sys::fuzz_target;
use xmldsig::stream::{Event, Reader};
use xmldsig::{Document, ParseErrorKind};

/// Hands out at most `n` bytes per read.
struct Chunked<'a>(&'a [u8], usize);

impl Read for Chunked<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(out.len()).min(self.1);
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fn events<R: BufRead>(r: R) -> Result<Vec<String>, ParseErrorKind> {
    let mut r = Reader::new(r);
    let mut v = Vec::new();
    loop {
        match r.next().map_err(|e| e.kind)? {
            Event::Start(s) => {
                let n = s.name();
                let mut e = format!("<{{{}}}{}", n.namespace, n.local);
                for a in s.attributes() {
                    e.push_str(&format!(" {{{}}}{}={:?}", a.namespace, a.local_name, a.value));
                }
                v.push(e);
            }
            Event::End(n) => v.push(format!("</{}", n.local)),
            Event::Text(t) => v.push(format!("t:{t:?}")),
            Event::Comment(c) => v.push(format!("c:{c:?}")),
            Event::ProcessingInstruction { target, data } => {
                v.push(format!("pi:{target}:{data:?}"))
            }
            Event::Eof => return Ok(v),
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, doc)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 16) + 1;
    let whole = events(doc);
    let chunked = events(BufReader::with_capacity(n, Chunked(doc, n)));
    assert_eq!(whole, chunked, "buffer size {n} changes the result");
    match (whole, Document::parse(doc)) {
        (Ok(_), Ok(_)) | (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => assert!(
            matches!(e.kind, ParseErrorKind::DuplicateId { .. }),
            "tree refuses ({e}), stream accepts"
        ),
        (Err(k), Ok(_)) => panic!("stream refuses ({k}), tree accepts"),
    }
});
