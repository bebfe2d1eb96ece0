//! Outside programs a test drives (Chromium, LibreOffice): found or the
//! test skipped, run with a time limit.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `name` on the PATH, or in /usr/bin; `None` after a line on the terminal
/// saying that `test` is skipped and what to install (written to stderr
/// directly: the test harness hides what passing tests print).
pub fn program_or_skip(name: &str, test: &str, install: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    let found = on_path.or_else(|| {
        let usr_bin = Path::new("/usr/bin").join(name);
        usr_bin.is_file().then_some(usr_bin)
    });
    if found.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: no {name} on the PATH nor in /usr/bin ({install})"
        );
    }
    found
}

/// Runs `command` to its end on a blocking thread (the server under test
/// runs on the test's own runtime), killing it past `limit`.
pub async fn run_program(mut command: Command, limit: Duration) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        // Read both pipes while waiting, so that a full one cannot stall it.
        let read = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                pipe.read_to_end(&mut bytes).map(|_| bytes)
            })
        };
        let stdout = read(Box::new(child.stdout.take().expect("stdout")));
        let stderr = read(Box::new(child.stderr.take().expect("stderr")));
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{command:?} still running after {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Output {
            status,
            stdout: stdout.join().expect("stdout reader").expect("stdout"),
            stderr: stderr.join().expect("stderr reader").expect("stderr"),
        }
    })
    .await
    .expect("program thread")
}
