//! A persistent Python worker for the references written in Python (jwcrypto, PyJWT): the
//! script reads one request line on stdin and answers one line per later line, so that a
//! benchmark iteration costs one pipe round trip and no interpreter start.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The first Python (`PA_PY`, then the project's `.venv`) that imports every module of
/// `modules`, or `None`.
pub fn python_with(modules: &[&str]) -> Option<String> {
    let check = format!("import {}", modules.join(", "));
    [
        std::env::var("PA_PY").ok(),
        Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python").to_owned()),
    ]
    .into_iter()
    .flatten()
    .find(|p| {
        Command::new(p)
            .args(["-c", &check])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// A running worker script.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl Worker {
    /// Starts `python -c script` and sends `setup` as its first line.
    ///
    /// # Panics
    /// When the interpreter does not start.
    pub fn start(python: &str, script: &str, setup: &str) -> Worker {
        let mut child = Command::new(python)
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut w = Worker {
            child,
            stdin: Some(stdin),
            stdout,
            line: String::new(),
        };
        w.send(setup);
        w
    }

    /// Sends one line and returns the worker's one-line answer (trimmed).
    ///
    /// # Panics
    /// When the worker has exited (its traceback is on stderr).
    pub fn ask(&mut self, line: &str) -> &str {
        self.send(line);
        self.line.clear();
        let n = self.stdout.read_line(&mut self.line).expect("read");
        assert!(n > 0, "the Python worker exited (see its traceback above)");
        self.line.trim()
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write to the Python worker");
    }

    /// Reads the next answer without sending anything (e.g. the `ready` after the setup line).
    pub fn answer(&mut self) -> &str {
        self.line.clear();
        let n = self.stdout.read_line(&mut self.line).expect("read");
        assert!(n > 0, "the Python worker exited (see its traceback above)");
        self.line.trim()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
