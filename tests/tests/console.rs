// SPDX-License-Identifier: MIT OR Apache-2.0
//! The console keeps every byte: input that arrives faster
//! than the shell reads it is held (the kernel masks the UART's receive
//! interrupt, QEMU keeps the rest), not dropped; a line over the line
//! discipline's limit is refused whole and the console goes on; Ctrl-C
//! drops an unfinished multi-line command. On every machine model: the
//! receive interrupt is masked and unmasked on a PL011 (`virt`) and on a
//! 16550 behind microvm's and q35's I/O APIC.
//!
//! Regression: a pasted 7 KB script ran commands never typed
//! (`sh: echo570: command not found`: bytes dropped past the 4 KiB buffer
//! spliced two lines), and a 10,000-character line wedged the console
//! until Ctrl-C.

#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(60);

/// The pasted commands: `echo paste-NNNN`, 16 bytes each.
const PASTED_COMMANDS: usize = 4096;

#[test]
fn a_64_kib_paste_runs_every_command_in_order() {
    let mut paste = Vec::new();
    for index in 0..PASTED_COMMANDS {
        paste.extend_from_slice(format!("echo paste-{index:04}\n").as_bytes());
    }
    assert_eq!(paste.len(), 64 * 1024);
    let last = format!("\npaste-{:04}\n", PASTED_COMMANDS - 1);
    for (machine, _disk) in with_system_disk(machine_models()) {
        let what = describe(&machine);
        let steps = [
            Step::Paste(&paste, &last),
            Step::Line("echo after-paste"),
            Step::Line("poweroff"),
        ];
        let transcript = session_steps(&machine, &steps, Duration::from_secs(600));
        let output = transcript.output(0);
        let ran: Vec<&str> = output
            .lines()
            .filter(|line| line.starts_with("paste-"))
            .collect();
        let expected: Vec<String> = (0..PASTED_COMMANDS)
            .map(|index| format!("paste-{index:04}"))
            .collect();
        assert!(
            ran == expected,
            "{what}: {} of {PASTED_COMMANDS} pasted commands ran in order; first difference at {:?}\n{}",
            ran.len(),
            ran.iter().zip(&expected).position(|(got, want)| got != want),
            output
        );
        assert!(
            !output.contains("not found") && !output.contains("syntax error"),
            "{what}: pasted lines were spliced:\n{output}"
        );
        assert_eq!(
            transcript.output(1),
            "after-paste\n",
            "{what}: {transcript:#?}"
        );
        assert_eq!(transcript.status, Some(0), "{what}: {transcript:#?}");
    }
}

#[test]
fn an_overlong_line_is_refused_whole_and_control_c_drops_an_unfinished_command() {
    let long_line = format!("echo {}", "A".repeat(10_000));
    let mut pasted = b"echo before-long-line\n".to_vec();
    pasted.extend_from_slice(long_line.as_bytes());
    pasted.extend_from_slice(b"\necho after-pasted-long-line\n");
    for (machine, _disk) in with_system_disk(machine_models()) {
        let what = describe(&machine);
        let steps = [
            // Typed at the prompt: refused, and the next command works
            // without Ctrl-C.
            Step::Line(&long_line),
            Step::Line("echo after-long-line"),
            // In the middle of a paste (held input, edited later).
            Step::Paste(&pasted, "\nafter-pasted-long-line\n"),
            // An open quote asks for more; Ctrl-C drops the command.
            Step::Start("echo \"abc", Duration::from_secs(2)),
            Step::Keys(b"\x03"),
            Step::Line("echo fresh"),
            Step::Line("poweroff"),
        ];
        let transcript = session_steps(&machine, &steps, STEP);
        let refused = "console: line too long (10005 bytes), discarded";
        assert!(
            transcript.output(0).contains(refused)
                && !transcript
                    .output(0)
                    .lines()
                    .any(|line| line.starts_with("AAAA")),
            "{what}: {transcript:#?}"
        );
        assert_eq!(
            transcript.output(1),
            "after-long-line\n",
            "{what}: {transcript:#?}"
        );
        let paste = transcript.output(2);
        assert!(
            paste.contains("\nbefore-long-line\n")
                && paste.contains(refused)
                && paste.contains("\nafter-pasted-long-line\n")
                && !paste.contains("not found"),
            "{what}: {transcript:#?}"
        );
        assert!(
            transcript.output(3).ends_with("> "),
            "{what}: an open quote asks for more: {transcript:#?}"
        );
        assert!(
            transcript.output(4).contains("^C") && !transcript.output(4).contains("abc"),
            "{what}: {transcript:#?}"
        );
        assert_eq!(transcript.output(5), "fresh\n", "{what}: {transcript:#?}");
        assert_eq!(transcript.status, Some(0), "{what}: {transcript:#?}");
    }
}
