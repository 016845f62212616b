//! Differential test of the parser's accept/refuse decisions against libxml2 (through lxml) on
//! thousands of mutants of the corpus: inserted, deleted, duplicated and swapped markup
//! characters. Whatever libxml2 refuses as not well-formed we must refuse too; whatever it
//! accepts we accept too, except what we refuse by design (any DOCTYPE, duplicate `ID`
//! values), which the comparison names.

use std::io::Write as _;
use std::process::{Command, Stdio};

use xmldsig::Document;

/// A small deterministic generator (xorshift64*), so that failures reproduce.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Characters that matter to XML syntax, and a few that do not.
const PIECES: &[&str] = &[
    "<",
    ">",
    "&",
    ";",
    "\"",
    "'",
    "=",
    "/",
    ":",
    "!",
    "?",
    "-",
    "[",
    "]",
    " ",
    "\n",
    "\t",
    "\r",
    "a",
    "x",
    "#",
    "&amp;",
    "&#x41;",
    "&#0;",
    "&bogus;",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<?pi?>",
    "xmlns:",
    "xmlns=\"\"",
    "xmlns:p=\"\"",
    " a=\"1\"",
    " a='1'",
    "</a>",
    "<a>",
    "\u{e9}",
    "\u{FFFE}",
    "\u{1}",
];

pub(crate) fn mutate(src: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut v = src.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(v.len() + 1);
        match rng.below(4) {
            0 => {
                let piece = PIECES[rng.below(PIECES.len())].as_bytes();
                v.splice(at..at, piece.iter().copied());
            }
            1 if at < v.len() => {
                let end = (at + 1 + rng.below(4)).min(v.len());
                v.drain(at..end);
            }
            2 if at < v.len() => {
                let end = (at + 1 + rng.below(12)).min(v.len());
                let slice = v[at..end].to_vec();
                let to = rng.below(v.len() + 1);
                v.splice(to..to, slice);
            }
            _ if at + 1 < v.len() => v.swap(at, at + 1),
            _ => {}
        }
    }
    v
}

/// Why we may refuse what libxml2 accepts: our deliberate restrictions.
fn refused_by_design(doc: &[u8]) -> bool {
    let text = String::from_utf8_lossy(doc);
    text.contains("<!DOCTYPE") || has_duplicate_id(&text)
}

fn has_duplicate_id(text: &str) -> bool {
    let mut seen = std::collections::HashSet::new();
    for quote in ['"', '\''] {
        let mut rest = text;
        while let Some(i) = rest.find(&format!("ID={quote}")) {
            rest = &rest[i + 4..];
            let value = rest.split(quote).next().unwrap_or("");
            if !seen.insert((quote, value.to_owned())) {
                return true;
            }
        }
    }
    false
}

/// libxml2's verdict on each document: `true` when it is well-formed and namespace-well-formed.
fn libxml2_verdicts(py: &str, tag: &str, cases: &[Vec<u8>]) -> Vec<bool> {
    let dir = std::env::temp_dir().join(format!("xmldsig-wf-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut list = String::new();
    for (i, c) in cases.iter().enumerate() {
        let path = dir.join(format!("{i}.xml"));
        std::fs::write(&path, c).expect("write case");
        list.push_str(&path.to_string_lossy());
        list.push('\n');
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wellformed_lxml.py");
    let mut child = Command::new(py)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(list.as_bytes())
        .expect("write list");
    let out = child.wait_with_output().expect("python output");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "lxml script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<bool> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l == "1")
        .collect();
    assert_eq!(verdicts.len(), cases.len());
    verdicts
}

/// The corpus documents and 200 rounds of mutants of each (deterministic).
pub(crate) fn corpus_and_mutants() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for dir in ["c14n", "xmlsec1"] {
        let mut files: Vec<_> = std::fs::read_dir(crate::common::fixture(dir))
            .expect("fixture dir")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .collect();
        files.sort();
        seeds.extend(files.iter().map(|p| std::fs::read(p).expect("read")));
    }
    assert!(seeds.len() >= 15, "corpus too small");

    let mut rng = Rng(0x5eed_c0ff_ee15_0001);
    let mut cases: Vec<Vec<u8>> = seeds.clone();
    for _ in 0..200 {
        for s in &seeds {
            cases.push(mutate(s, &mut rng));
        }
    }
    cases
}

/// The streaming reader's verdict: reads every event.
pub(crate) fn stream_ok(doc: &[u8]) -> Result<(), xmldsig::ParseError> {
    let mut r = xmldsig::stream::Reader::new(doc);
    loop {
        if let xmldsig::stream::Event::Eof = r.next()? {
            return Ok(());
        }
    }
}

#[test]
fn accepts_and_refuses_what_libxml2_does_on_corpus_mutants() {
    let Some(py) = crate::common::python_with_lxml() else {
        return;
    };
    let cases = corpus_and_mutants();
    let verdicts = libxml2_verdicts(&py, "mutants", &cases);

    let (mut accepted, mut by_design) = (0, 0);
    let mut mismatches = Vec::new();
    for (case, &libxml2) in cases.iter().zip(&verdicts) {
        // The streaming reader refuses by design only a DOCTYPE (it keeps no IDs).
        let stream = stream_ok(case);
        match (stream.is_ok(), libxml2) {
            (true, true) | (false, false) => {}
            (false, true) if String::from_utf8_lossy(case).contains("<!DOCTYPE") => {}
            (ok, _) => mismatches.push(format!(
                "stream {}, libxml2 {}{}: {:?}",
                if ok { "accepts" } else { "refuses" },
                if libxml2 { "accepts" } else { "refuses" },
                stream.err().map(|e| format!(" ({e})")).unwrap_or_default(),
                String::from_utf8_lossy(case)
            )),
        }
        let ours = Document::parse(case);
        accepted += usize::from(ours.is_ok());
        match (ours.is_ok(), libxml2) {
            (true, true) | (false, false) => {}
            (false, true) if refused_by_design(case) => by_design += 1,
            (ours_ok, _) => mismatches.push(format!(
                "ours {}, libxml2 {}{}: {:?}",
                if ours_ok { "accepts" } else { "refuses" },
                if libxml2 { "accepts" } else { "refuses" },
                ours.err().map(|e| format!(" ({e})")).unwrap_or_default(),
                String::from_utf8_lossy(case)
            )),
        }
    }
    // The mutants must exercise both sides.
    assert!(
        accepted > cases.len() / 10,
        "{accepted} of {} accepted",
        cases.len()
    );
    assert!(
        accepted < cases.len() * 9 / 10,
        "{accepted} of {} accepted",
        cases.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} cases disagree with libxml2 ({by_design} refused by design); first ones:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches
            .iter()
            .take(
                std::env::var("WF_SHOW")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(8)
            )
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Hand-written documents at the edges of well-formedness and namespace well-formedness, each
/// compared with libxml2 the same way.
#[test]
fn edge_cases_agree_with_libxml2() {
    let Some(py) = crate::common::python_with_lxml() else {
        return;
    };
    let cases: &[&str] = &[
        // XML declaration.
        "<?xml version=\"1.0\"?><a/>",
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?><a/>",
        "<?xml version=\"1.0\" standalone=\"no\"?><a/>",
        "<?xml vresion=\"1.0\"?><a/>",
        "<?xml encoding=\"UTF-8\"?><a/>",
        "<?xml version=\"1.0\"encoding=\"UTF-8\"?><a/>",
        "<?xml version=\"1.0\" standalone=\"yes\" encoding=\"UTF-8\"?><a/>",
        "<?xml version=\"1.0\" standalone=\"maybe\"?><a/>",
        "<?xml version=\"1.0\" foo=\"bar\"?><a/>",
        "<?xml version=\"1.0' ?><a/>",
        "<?xml version=\"1.0\"?><?xml version=\"1.0\"?><a/>",
        " <?xml version=\"1.0\"?><a/>",
        "<a/><?xml version=\"1.0\"?>",
        "<?XML version=\"1.0\"?><a/>",
        "<?xml-stylesheet href=\"s\"?><a/>",
        // Qualified names.
        "<a:b:c xmlns:a=\"urn:a\"/>",
        "<d><f xm:l:lang=\"it\"/></d>",
        "<:a/>",
        "<a: xmlns:a=\"urn:a\"/>",
        // Namespace names.
        "<d xmlns:n=\"urn:a b\"/>",
        "<d xmlns:n=\"urn:a]b\"/>",
        "<d xmlns:n=\"\"/>",
        "<d xmlns=\"\"/>",
        "<d xmlns:n=\"r\u{e9}\"/>",
        "<d xmlns:n=\"a%zz\"/>",
        "<d xmlns:n=\"a%2Fb\"/>",
        "<d xmlns:n=\"a|b\"/>",
        "<d xmlns:n=\"a{b\"/>",
        "<d xmlns:n=\"a^b\"/>",
        "<d xmlns:n=\"a#b#c\"/>",
        "<d xmlns:n=\"http://[::1]/ns\"/>",
        "<d xmlns:n=\"urn:x?q=1#f\"/>",
        "<d xmlns=\"a b\"/>",
        "<d xmlns:n=\"urn:x\" n:a=\"1\" xmlns:m=\"urn:x\" m:a=\"2\"/>",
        "<d xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"/>",
        "<d xmlns:xml=\"urn:other\"/>",
        "<d xmlns:xmlns=\"urn:x\"/>",
        "<d xmlns:n=\"http://www.w3.org/2000/xmlns/\"/>",
        "<d a=\"1\" a=\"2\"/>",
        "<d a=\"<\"/>",
        "<d a=\"&#0;\"/>",
        "<d>&#xD800;</d>",
        "<d>]]></d>",
        "<d><!-- a -- b --></d>",
        "<d><!-- a ---></d>",
        "<d><?xml v?></d>",
        "<d><?pi?></d>",
    ];
    let bytes: Vec<Vec<u8>> = cases.iter().map(|c| c.as_bytes().to_vec()).collect();
    let verdicts = libxml2_verdicts(&py, "edge", &bytes);
    let mismatches: Vec<String> = cases
        .iter()
        .zip(&verdicts)
        .filter_map(|(case, &libxml2)| {
            if stream_ok(case.as_bytes()).is_ok() != libxml2 {
                return Some(format!(
                    "{case:?}: libxml2 {}, stream reader disagrees",
                    if libxml2 { "accepts" } else { "refuses" }
                ));
            }
            let ours = Document::parse(case.as_bytes());
            (ours.is_ok() != libxml2).then(|| {
                format!(
                    "{case:?}: libxml2 {}, ours {}",
                    if libxml2 { "accepts" } else { "refuses" },
                    match ours {
                        Ok(_) => "accepts".to_owned(),
                        Err(e) => format!("refuses ({e})"),
                    }
                )
            })
        })
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
