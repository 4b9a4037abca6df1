//! Every message a broken stack file can produce speaks of fields and values, never of the
//! Rust types behind them.

use std::sync::Arc;

use super::load;
use crate::source::SourceFile;

/// Values swapped in for every field's value, one at a time.
const SWAPS: [&str; 11] = [
    "x",
    "70000",
    "-1",
    "1.5",
    "true",
    "[]",
    "{}",
    "~",
    "99999999999999999999999999999999",
    "[a, b]",
    "{a: b}",
];

/// Text spliced into the files, as `no_input_panics` does.
const NOISE: [&str; 8] = ["\t", ":", "- ", "{", "]", "&a ", "*a", "!!binary "];

/// Names of types in `src/stack` that a message must not leak.
const TYPE_NAMES: [&str; 40] = [
    "AwsDecl",
    "BookinfoImages",
    "BookinfoSpec",
    "ClusterFile",
    "ControlPlane",
    "ControlPlaneDecl",
    "ExposureDecl",
    "FileKind",
    "GatewayApi",
    "GrafanaSpec",
    "IngressDecl",
    "IptablesMode",
    "KindProbe",
    "LinkerdSpec",
    "LogFormat",
    "NamespaceMeta",
    "PortVisitor",
    "PrometheusImages",
    "PrometheusSpec",
    "ProxySettings",
    "PublicReach",
    "RawStack",
    "RulesPerGroup",
    "SecretKind",
    "SecretSpec",
    "SecurityGroupRef",
    "StackFile",
    "StackKind",
    "TaintEffect",
    "WorkloadDecl",
    "DnsLabel",
    "ImageRef",
    "ImageRepository",
    "ImageTag",
    "LabelKey",
    "LabelValue",
    "ObjectName",
    "RuleDescription",
    "StackError",
    "StorageView",
];

/// Rust words: primitive and container types, paths, serde's words for them.
const RUST_WORDS: [&str; 27] = [
    "struct ",
    "enum ",
    "Option<",
    "Vec<",
    "BTreeMap",
    "HashMap",
    "::",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "usize",
    "isize",
    "f32",
    "f64",
    "unit value",
    "newtype",
    "tuple",
    "internally tagged",
    "untagged",
    "variant",
];

/// Every default file with each field's value swapped for each of [`SWAPS`], cut short at
/// every few characters, or with noise spliced in.
fn variants(defaults: &[Arc<SourceFile>]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (index, file) in defaults.iter().enumerate() {
        let lines: Vec<&str> = file.text.lines().collect();
        for (at, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
            let Some(colon) = line
                .find(": ")
                .or_else(|| line.strip_suffix(':').map(str::len))
            else {
                continue;
            };
            for swap in SWAPS {
                let mut changed = lines.clone();
                let swapped = format!("{}: {swap}", &line[..colon]);
                changed[at] = &swapped;
                out.push((index, changed.join("\n")));
            }
        }
        let cuts = file.text.char_indices().map(|(at, _)| at).step_by(13);
        for (round, cut) in cuts.enumerate() {
            let mut spliced = file.text.to_string();
            spliced.insert_str(cut, NOISE[round % NOISE.len()]);
            out.push((index, spliced));
            out.push((index, file.text[..cut].to_owned()));
        }
    }
    out
}

/// The lines of a message that are its own words: not the quoted lines of the file.
fn own_words(message: &str) -> impl Iterator<Item = &str> {
    message.lines().filter(|line| {
        let gutter = line
            .trim_start()
            .trim_start_matches(|c: char| c.is_ascii_digit());
        !gutter.starts_with('|') && !gutter.starts_with(" |")
    })
}

/// The Rust word `line` contains, if any (a primitive type counts only as a whole word).
fn rust_word(line: &str) -> Option<&'static str> {
    let whole = |word: &str| {
        line.match_indices(word).any(|(at, _)| {
            let before = line[..at].chars().next_back();
            let after = line[at + word.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    };
    RUST_WORDS
        .iter()
        .chain(TYPE_NAMES.iter())
        .find(|word| whole(word))
        .copied()
}

#[test]
fn no_message_names_a_rust_type() {
    let defaults = crate::embedded::stacks();
    let mut leaks: Vec<String> = Vec::new();
    let mut messages = 0;
    for (index, text) in variants(&defaults) {
        let mut files = defaults.clone();
        files[index] = SourceFile::new(defaults[index].path.clone(), text);
        let Err(err) = load(&files, "test") else {
            continue;
        };
        messages += 1;
        let message = err.to_string();
        for line in own_words(&message) {
            if let Some(word) = rust_word(line)
                && leaks.len() < 30
            {
                leaks.push(format!("`{word}` in: {line}"));
            }
        }
    }
    assert!(messages > 1_000, "only {messages} broken inputs");
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}
