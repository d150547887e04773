// SPDX-License-Identifier: MIT OR Apache-2.0
//! The shell language against Debian's dash: each script of
//! `tests/shell-scripts/` is written into the guest (typed as `printf`
//! lines at the prompt), run there with `sh FILE`, and run on the host
//! with `dash FILE` in an empty directory; what the guest printed must be
//! exactly what dash printed. Between them the scripts cover every
//! construct of the language: compound commands, functions, expansions,
//! globbing, here-documents, subshells and background jobs, options and
//! traps, and the builtins. A script must not print `$ ` (dollar,
//! space): the session takes that for the prompt. Nor anything on
//! standard error, where dash's messages differ from this shell's (they
//! carry a line number).
#![forbid(unsafe_code)]

use guest_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(120);

/// Script lines per typed `printf` line (the console takes lines of up
/// to 4095 bytes).
const LINES_PER_CHUNK: usize = 8;

/// The scripts, sorted by name.
fn scripts() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("shell-scripts");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("tests/shell-scripts")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "sh"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "no scripts in {}", directory.display());
    scripts
}

/// `text` in single quotes for the guest's shell.
fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The lines that write `text` to `file` in the guest: `printf '%b\n'`
/// with backslashes doubled and tabs written `\t`, so that what is typed
/// holds no control character.
fn writing_lines(text: &str, file: &str) -> Vec<String> {
    let mut lines = vec![format!(": > {file}")];
    let script_lines: Vec<&str> = text.lines().collect();
    for chunk in script_lines.chunks(LINES_PER_CHUNK) {
        let arguments: Vec<String> = chunk
            .iter()
            .map(|line| single_quoted(&line.replace('\\', "\\\\").replace('\t', "\\t")))
            .collect();
        lines.push(format!("printf '%b\\n' {} >> {file}", arguments.join(" ")));
    }
    lines
}

/// What dash prints (standard output and error, as the console shows
/// both) running `script` in a fresh directory.
fn dash_output(script: &Path) -> String {
    let home = tempfile::tempdir().expect("a home for dash");
    let work = home.path().join("work");
    std::fs::create_dir(&work).expect("a directory for dash");
    let output = Command::new("dash")
        .arg("-c")
        .arg("exec 2>&1; exec dash \"$0\"")
        .arg(script)
        .current_dir(&work)
        .env("HOME", home.path())
        .output()
        .expect("running dash: install Debian's dash (apt-get install dash)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn every_script_prints_what_dash_prints() {
    let scripts = scripts();
    for (machine, _disk) in system_machines() {
        let mut lines: Vec<String> = vec!["cd $HOME".into(), "mkdir -p sl".into()];
        let mut runs: Vec<(usize, &PathBuf)> = Vec::new();
        for script in &scripts {
            let name = script.file_stem().expect("a name").to_string_lossy();
            let text = std::fs::read_to_string(script).expect("a script");
            lines.push(format!("mkdir sl/{name}; cd sl/{name}"));
            lines.extend(writing_lines(&text, "../s.sh"));
            runs.push((lines.len(), script));
            lines.push("sh ../s.sh".into());
            lines.push("cd $HOME".into());
        }
        lines.push("rm -r sl".into());
        lines.push("poweroff".into());
        let typed: Vec<&str> = lines.iter().map(String::as_str).collect();
        let transcript = session(&machine, &typed, STEP);
        let what = describe(&machine);
        for (index, script) in runs {
            assert_eq!(
                transcript.output(index),
                dash_output(script),
                "{what}: {} printed something else than dash\n{transcript:#?}",
                script.display()
            );
        }
        assert_eq!(transcript.status, Some(0), "{what}\n{transcript:#?}");
    }
}
