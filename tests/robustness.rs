//! Robustness of the flowchart front end: no input may panic, hang or
//! overflow the stack, every rejection carries a span inside the source that
//! renders, and every accepted chart has in-bounds spans and serialises.
//!
//! Heavy inputs run on a fresh thread with a 2 MiB stack (a spawned thread's
//! default, a quarter of the main thread's) under a watchdog: a hang fails
//! the test instead of stalling CI, and a stack overflow aborts with the
//! case's name as the thread name.
//!
//! The `fuzz_*` tests are proptest runs over Mermaid-ish token soup, mostly
//! valid statements, random bytes, and mutated corpus files
//! (`../shared/mermaid-corpus`, or `EDA_CORPUS_DIR`). Each prints its seed on
//! failure; `EDA_FUZZ_SEED=N` replays it, `PROPTEST_CASES=N` runs longer:
//! `PROPTEST_CASES=100000 cargo test --release --test robustness fuzz_`.

use eda_studio::mermaid::{
    Diagnostic, Flowchart, Span, parse_document, parse_flowchart, print_document,
    print_document_with_source,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::any::Any;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// A spawned thread's default stack; we check the parser fits in it.
const THREAD_STACK: usize = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------
// Harness

/// Runs `f` on a thread named `name` with a 2 MiB stack; fails if it panics
/// or has not finished after `limit`.
fn within<F: FnOnce() + Send + 'static>(name: &str, limit: Duration, f: F) {
    within_noting(name, limit, f, None);
}

/// [`within`], and on a timeout also reports what `current` last held (the
/// fuzz input being tried).
fn within_noting<F: FnOnce() + Send + 'static>(
    name: &str,
    limit: Duration,
    f: F,
    current: Option<Arc<Mutex<String>>>,
) {
    let (done_tx, done_rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(name.to_string())
        .stack_size(THREAD_STACK)
        .spawn(move || {
            f();
            let _ = done_tx.send(());
        })
        .expect("spawn a test thread");
    match done_rx.recv_timeout(limit) {
        Ok(()) => handle.join().expect("the thread finished"),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let input = current
                .map(|c| {
                    c.lock()
                        .map_or_else(|e| e.into_inner().clone(), |s| s.clone())
                })
                .map_or_else(String::new, |s| format!("; last input: {s}"));
            panic!("{name}: not finished after {limit:?}: a hang or quadratic behaviour{input}")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(()) => panic!("{name}: thread ended without reporting"),
            Err(payload) => panic!("{name}: panicked: {}", panic_message(&*payload)),
        },
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// Watchdog for a heavy case: generous, since debug builds on two busy
/// cores are slow; it is there to catch hangs, not to measure speed.
const HEAVY: Duration = Duration::from_secs(240);
/// Watchdog for small inputs.
const LIGHT: Duration = Duration::from_secs(60);

fn span_ok(src: &str, span: Span) -> bool {
    span.start <= span.end && src.get(span.start..span.end).is_some()
}

/// Checks a rejection: span inside the source on character boundaries,
/// a message, and `render`/`to_json` that work and point at a real line.
fn check_diagnostic(src: &str, d: &Diagnostic) {
    assert!(
        span_ok(src, d.span),
        "diagnostic span {:?} is outside the {}-byte source or splits a character: {:?}",
        d.span,
        src.len(),
        d.message
    );
    assert!(
        !d.message.trim().is_empty(),
        "empty diagnostic message: {d:?}"
    );
    let text = d.render("fuzz.mmd", src);
    let mut lines = text.lines();
    let head = lines.next().unwrap_or_default();
    assert!(
        head.starts_with("fuzz.mmd:") && head.contains(": error: "),
        "render head is not `file:line:col: error: msg`: {head:?}"
    );
    let _source_line = lines.next().expect("render shows the source line");
    let caret = lines.next().expect("render shows a caret line");
    assert!(
        caret.trim_start().starts_with('^'),
        "third rendered line is not a caret: {caret:?}"
    );
    let json = d.to_json("fuzz.mmd", src);
    let line = json["line"].as_u64().expect("json line");
    let total_lines = src.bytes().filter(|&b| b == b'\n').count() as u64 + 1;
    assert!(
        (1..=total_lines).contains(&line),
        "json line {line} not in 1..={total_lines}"
    );
    assert!(json["column"].as_u64().expect("json column") >= 1);
}

/// Whether `id` is the text of `span_text` with `%%{…}%%` directives cut
/// out of it, as mermaid cuts them before parsing: `c%%{x y stroke` names
/// the node `cstroke`, and its span runs over the directive. The cut only
/// removes text, so the id is then a subsequence of the span's text that
/// starts where the span starts and ends where it ends. The `style …;`
/// pre-pass splices the same way (`round:#fff;style` names the node
/// `round:#fffstyle`): the id is then the span's text less its `;`.
fn spliced(span_text: &str, id: &str) -> bool {
    if !span_text.contains("%%{") {
        return span_text.contains(';') && span_text.replace(';', "") == id;
    }
    if !span_text.starts_with(id.chars().next().unwrap_or('\0')) {
        return false;
    }
    let mut rest = span_text.chars();
    let mut last = None;
    for c in id.chars() {
        if !rest.by_ref().any(|s| s == c) {
            return false;
        }
        last = Some(c);
    }
    last.is_some_and(|c| span_text.ends_with(c))
}

/// Checks an accepted chart: every span in bounds and on the text it names
/// (a node's first mention starts with its id, an edge's is its link token,
/// a subgraph's is the `subgraph` keyword).
fn check_chart(src: &str, chart: &Flowchart) {
    let text = |span: Span| src.get(span.start..span.end);
    for n in &chart.nodes {
        let at = text(n.span);
        assert!(
            at.is_some_and(|t| t.starts_with(n.id.as_str()) || spliced(t, &n.id)),
            "node {:?} has span {:?} on {at:?}",
            n.id,
            n.span
        );
    }
    for e in chart.edge_refs() {
        let at = text(e.span());
        assert!(
            at.is_some_and(|t| t.contains(['-', '=', '~', '.'])),
            "edge {:?} has span {:?} on {at:?}, not a link",
            e.id(),
            e.span()
        );
    }
    for g in &chart.subgraphs {
        let at = text(g.span);
        assert!(
            at == Some("subgraph"),
            "subgraph {:?} has span {:?} on {at:?}",
            g.id,
            g.span
        );
    }
}

/// Parses and checks through `parse_flowchart`, then `parse_document` and
/// the printer. `full` (off for the 50 MB inputs, where it would only test
/// memory) also serialises accepted charts and checks the printer's output:
/// it must parse to the same chart and print to itself again.
fn check_src(src: &str, full: bool) -> Result<Flowchart, Diagnostic> {
    let result = parse_flowchart(src);
    match &result {
        Ok(chart) => {
            check_chart(src, chart);
            if full {
                let text = serde_json::to_string(&chart.to_corpus_json()).expect("serialise");
                assert!(text.starts_with('{'));
            }
        }
        Err(d) => check_diagnostic(src, d),
    }
    check_printer(src, result.as_ref().ok(), full);
    result
}

fn check_printer(src: &str, chart: Option<&Flowchart>, full: bool) {
    let doc = match parse_document(src) {
        Ok(doc) => doc,
        Err(d) => {
            check_diagnostic(src, &d);
            assert!(
                chart.is_none(),
                "parse_document rejects what parse_flowchart accepts: {}\n--- input ---\n{}",
                d.message,
                excerpt(src)
            );
            return;
        }
    };
    let printed = print_document_with_source(&doc, src);
    let bare = print_document(&doc);
    drop(doc);
    let (true, Some(chart)) = (full, chart) else {
        return;
    };
    let show = || {
        format!(
            "--- input ---\n{}\n--- printed ---\n{}",
            excerpt(src),
            excerpt(&printed)
        )
    };
    match parse_flowchart(&printed) {
        Ok(again) => assert!(
            again.to_corpus_json() == chart.to_corpus_json(),
            "printing changed the chart\n{}",
            show()
        ),
        Err(d) => panic!(
            "the printer's output is rejected:\n{}{}",
            d.render("printed.mmd", &printed),
            show()
        ),
    }
    let reprinted = parse_document(&printed).map(|doc| print_document_with_source(&doc, &printed));
    assert!(
        reprinted.as_ref() == Ok(&printed),
        "printing is not idempotent\n{}\n--- printed again ---\n{}",
        show(),
        reprinted.as_deref().map_or("<rejected>", |t| excerpt(t))
    );
    assert!(
        parse_flowchart(&bare).is_ok(),
        "print_document's output (no source) is rejected\n--- printed ---\n{}",
        excerpt(&bare)
    );
}

/// At most the first 2,000 bytes of `text`, for failure messages.
fn excerpt(text: &str) -> &str {
    let mut end = text.len().min(2_000);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn check(src: &str) -> Result<Flowchart, Diagnostic> {
    check_src(src, true)
}

/// Runs [`check`] on a heavy input in a watched 2 MiB thread; the result is
/// dropped inside that thread too (a deep tree can overflow on drop).
fn check_heavy(name: &str, src: String, full: bool, expect: Expect) {
    let label = name.to_string();
    within(name, HEAVY, move || {
        let started = Instant::now();
        let result = check_src(&src, full);
        let accepted = result.is_ok();
        match (&result, expect) {
            (Ok(_), Expect::Reject) => panic!("{label}: accepted, expected a rejection"),
            (Err(d), Expect::Accept) => panic!(
                "{label}: rejected, expected acceptance: {}",
                d.render(&label, &src)
            ),
            _ => {}
        }
        drop(result);
        eprintln!(
            "{label}: {} bytes, {}, {:?}",
            src.len(),
            if accepted { "accepted" } else { "rejected" },
            started.elapsed()
        );
    });
}

#[derive(Clone, Copy, Debug)]
enum Expect {
    Accept,
    Reject,
    Either,
}

// ---------------------------------------------------------------------------
// Generators for big inputs

/// A valid flowchart of at least `bytes` bytes with many distinct nodes and
/// edges of mixed shapes and links (distinct ids catch quadratic lookups).
fn big_valid_flowchart(bytes: usize) -> String {
    const SHAPES: [(&str, &str); 6] = [
        ("[", "]"),
        ("(", ")"),
        ("[(", ")]"),
        ("{", "}"),
        ("([", "])"),
        ("[[", "]]"),
    ];
    const LINKS: [&str; 5] = ["-->", "-->|Evt|", "==>", "-.->", "---"];
    let mut s = String::with_capacity(bytes + 256);
    s.push_str("flowchart LR\nclassDef svc fill:#eef,stroke:#333\n");
    let mut i = 0usize;
    while s.len() < bytes {
        let (open, close) = SHAPES[i % SHAPES.len()];
        let link = LINKS[i % LINKS.len()];
        if i.is_multiple_of(1000) {
            s.push_str(&format!("subgraph g{i}[Group {i}]\n"));
        }
        s.push_str(&format!(
            "n{i}{open}Service {i}{close} {link} n{}:::svc\n",
            i + 1
        ));
        if i % 1000 == 999 {
            s.push_str("end\n");
        }
        i += 1;
    }
    if !i.is_multiple_of(1000) {
        s.push_str("end\n");
    }
    s
}

/// `len` characters of Mermaid-flavoured garbage from a small xorshift
/// generator (deterministic: no dependency on proptest's RNG here).
fn garbage(len: usize, seed: u64) -> String {
    #[rustfmt::skip]
    const PIECES: [&str; 24] = [
        "-->", "[", "]", "(", ")", "{", "}", "\"", "`", "|", "&", ":::", "subgraph ", "end",
        "\n", " ", "A", "é", "\0", "@{", "%%", ";", "\r\n", "==>",
    ];
    let mut state = seed | 1;
    let mut s = String::with_capacity(len + 16);
    while s.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let r = state as usize;
        if r.is_multiple_of(4) {
            // A random scalar value now and then.
            s.push(char::from_u32((r >> 8) as u32 % 0x11_0000).unwrap_or('\u{fffd}'));
        } else {
            s.push_str(PIECES[(r >> 8) % PIECES.len()]);
        }
    }
    s
}

const FIFTY_MB: usize = 50 * 1024 * 1024;
const ONE_MB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------
// Heavy cases

#[test]
fn fifty_megabytes_of_valid_flowchart_is_accepted() {
    let src = big_valid_flowchart(FIFTY_MB);
    check_heavy("50MB-valid", src, false, Expect::Accept);
}

#[test]
fn fifty_megabytes_of_valid_flowchart_with_an_error_at_the_end() {
    let mut src = big_valid_flowchart(FIFTY_MB);
    src.push_str("last[\"unterminated");
    let name = "50MB-valid-then-unterminated-string";
    let len = src.len();
    within(name, HEAVY, move || {
        let result = check_src(&src, false);
        let d = result.expect_err("an unterminated string must be rejected");
        assert!(
            d.span.start > len - 64,
            "the error at the end is reported at byte {} of {len}",
            d.span.start
        );
    });
}

#[test]
fn fifty_megabytes_of_garbage() {
    let mut src = String::from("graph TD\n");
    src.push_str(&garbage(FIFTY_MB, 0x9e37_79b9_7f4a_7c15));
    check_heavy("50MB-garbage-after-header", src, false, Expect::Either);
    let src = garbage(FIFTY_MB, 42);
    check_heavy("50MB-garbage", src, false, Expect::Reject);
}

#[test]
fn hundred_thousand_nested_subgraphs() {
    const DEPTH: usize = 100_000;
    let mut src = String::from("graph TD\n");
    for i in 0..DEPTH {
        src.push_str(&format!("subgraph s{i}\n"));
    }
    src.push_str("inner --> core\n");
    for _ in 0..DEPTH {
        src.push_str("end\n");
    }
    // Accepting (Mermaid does) or refusing with a "nested too deeply"
    // diagnostic are both fine; overflowing the stack is not.
    check_heavy("100k-nested-subgraphs", src.clone(), true, Expect::Either);
    // Unclosed: 100k opens and no end.
    let open_only = src[..src.find("inner").expect("marker")].to_string();
    check_heavy("100k-unclosed-subgraphs", open_only, true, Expect::Reject);
}

#[test]
fn hundred_thousand_opening_brackets() {
    for (name, unit) in [
        ("100k-[", "["),
        ("100k-(", "("),
        ("100k-{", "{"),
        ("100k-@{", "@{"),
        ("100k-quotes", "\"`"),
    ] {
        let src = format!("graph TD\nA{}\n", unit.repeat(100_000));
        check_heavy(name, src, true, Expect::Either);
    }
}

#[test]
fn one_megabyte_labels_are_accepted() {
    let text = "x".repeat(ONE_MB);
    let cases = [
        (
            "1MB-quoted-node-label",
            format!("graph TD\nA[\"{text}\"] --> B\n"),
        ),
        ("1MB-node-label", format!("graph TD\nA[{text}] --> B\n")),
        ("1MB-edge-label", format!("graph TD\nA -->|{text}| B\n")),
        (
            "1MB-subgraph-title",
            format!("graph TD\nsubgraph S[\"{text}\"]\nA\nend\n"),
        ),
        ("1MB-id", format!("graph TD\n{text} --> B\n")),
    ];
    for (name, src) in cases {
        check_heavy(name, src, true, Expect::Accept);
    }
    let src = format!("graph TD\nA[\"{text}\"]\n");
    within("1MB-label-content", HEAVY, move || {
        let chart = check(&src).expect("accepted");
        let a = chart.node("A").expect("node A");
        assert_eq!(a.label.len(), ONE_MB, "the 1 MB label is kept whole");
    });
}

#[test]
fn unterminated_constructs_at_end_of_file() {
    let tails = [
        "A[\"unterminated",
        "A[\"`markdown",
        "A[\"`markdown`",
        "A[unterminated",
        "A(unterminated",
        "A((x)",
        "A[(x)",
        "A{x",
        "A{{x}",
        "A>x",
        "A[/x",
        "A -->|label",
        "A -- label",
        "A --",
        "A -->",
        "A &",
        "A@{ shape: rect",
        "A@{ shape: \"rect",
        "A@{",
        "subgraph S",
        "subgraph S[\"title",
        "accDescr {\nsome text",
        "click A \"http://x",
        "style A fill:#",
        "classDef",
        "class A",
        "linkStyle",
        "A:::",
        "%%{init: {\"theme\": \"dark\"",
        "e1@",
        "\"",
        "`",
    ];
    for tail in tails {
        for header in ["graph TD\n", "flowchart LR;"] {
            for end in ["", "\n", "\r\n", " "] {
                let src = format!("{header}{tail}{end}");
                within(tail, LIGHT, move || {
                    let _ = check(&src);
                });
            }
        }
    }
    // Frontmatter that never closes, and an empty one.
    for src in [
        "---\ntitle: x\n",
        "---\ntitle: x\ngraph TD\nA",
        "---\n---\n",
        "---",
    ] {
        let src = src.to_string();
        within("frontmatter", LIGHT, move || {
            let _ = check(&src);
        });
    }
}

#[test]
fn deep_ampersand_and_edge_chains() {
    const N: usize = 100_000;
    let ids: Vec<String> = (0..N).map(|i| format!("n{i}")).collect();
    let amps = ids.join(" & ");
    let cases = [
        ("100k-&-sources", format!("graph TD\n{amps} --> Z\n")),
        ("100k-&-targets", format!("graph TD\nA --> {amps}\n")),
        (
            "100k-&-both-sides-small",
            // 300 x 300 = 90,000 edges from one statement.
            format!(
                "graph TD\n{} --> {}\n",
                ids[..300].join(" & "),
                ids[300..600].join(" & ")
            ),
        ),
        (
            "100k-chained-edges",
            format!("graph TD\n{}\n", ids.join(" --> ")),
        ),
        (
            "100k-chained-labelled-edges",
            format!("graph TD\n{}\n", ids.join(" -- go --> ")),
        ),
        ("100k-&-dangling", format!("graph TD\n{amps} &\n")),
        (
            "100k-chain-dangling",
            format!("graph TD\n{} -->\n", ids.join(" --> ")),
        ),
    ];
    for (name, src) in cases {
        let expect = if name.ends_with("dangling") {
            Expect::Reject
        } else {
            Expect::Accept
        };
        check_heavy(name, src, true, expect);
    }
}

#[test]
fn very_long_lines() {
    let statements: Vec<String> = (0..100_000).map(|i| format!("a{i}-->b{i}")).collect();
    let one_line = format!("graph TD;{}", statements.join(";"));
    check_heavy(
        "100k-statements-on-one-line",
        one_line.clone(),
        true,
        Expect::Accept,
    );
    let mut broken = one_line;
    broken.push_str(";a --> end");
    check_heavy("long-line-error-at-end", broken, true, Expect::Reject);
    let spaces = format!("graph TD\nA{}-->B\n", " ".repeat(ONE_MB));
    check_heavy("1MB-of-spaces", spaces, true, Expect::Accept);
    let dashes = format!("graph TD\nA {}> B\n", "-".repeat(ONE_MB));
    check_heavy("1MB-long-arrow", dashes, true, Expect::Either);
    let comment = format!("graph TD\n%% {}\nA-->B\n", "c".repeat(ONE_MB));
    check_heavy("1MB-comment", comment, true, Expect::Accept);
}

#[test]
fn many_lines_and_blank_lines() {
    let blank = format!("graph TD\n{}A-->B\n", "\n".repeat(ONE_MB));
    check_heavy("1M-blank-lines", blank, true, Expect::Accept);
    let semis = format!("graph TD\n{}A-->B\n", ";".repeat(ONE_MB));
    check_heavy("1M-semicolons", semis, true, Expect::Either);
    let comments = format!("graph TD\n{}A-->B\n", "%% c\n".repeat(200_000));
    check_heavy("200k-comment-lines", comments, true, Expect::Accept);
}

#[test]
fn nul_bytes_anywhere() {
    let seed = eda_studio::SEED_DIAGRAM;
    for at in (0..=seed.len()).filter(|&i| seed.is_char_boundary(i)) {
        let mut src = seed.to_string();
        src.insert(at, '\0');
        let _ = check(&src);
    }
    let _ = check("\0");
    let _ = check("graph TD\n\0\0\0");
    let _ = check(&"\0".repeat(10_000));
}

#[test]
fn crlf_is_the_same_as_lf() {
    let lf = eda_studio::SEED_DIAGRAM;
    let crlf = lf.replace('\n', "\r\n");
    let a = check(lf).map(|c| c.to_corpus_json());
    let b = check(&crlf).map(|c| c.to_corpus_json());
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "CRLF changes the parse"),
        (Err(a), Err(b)) => assert_eq!(a.kind, b.kind),
        (a, b) => panic!("LF and CRLF disagree: {a:?} vs {b:?}"),
    }
    // Lone CRs and mixed endings must not panic.
    let _ = check(&lf.replace('\n', "\r"));
    let _ = check(&lf.replacen('\n', "\r\n", 5));
    let _ = check("graph TD\r\nA[\"multi\r\nline\"] --> B\r\n");
}

#[test]
fn byte_order_mark() {
    let with_bom = format!("\u{feff}{}", eda_studio::SEED_DIAGRAM);
    let result = check(&with_bom);
    if let Ok(chart) = &result {
        assert_eq!(
            chart.nodes.len(),
            check(eda_studio::SEED_DIAGRAM).map_or(0, |c| c.nodes.len())
        );
    }
    let _ = check("\u{feff}");
    let _ = check("graph TD\nA[\u{feff}] --> \u{feff}B\n");
}

#[test]
fn numbers_that_do_not_fit() {
    for src in [
        "graph TD\nA-->B\nlinkStyle 99999999999999999999999999 stroke:red\n",
        "graph TD\nA-->B\nlinkStyle 0,18446744073709551616 stroke:red\n",
        "graph TD\nA-->B\nlinkStyle 18446744073709551615 stroke:red\n",
        "graph TD\nA@{ w: 1e999, h: -1e999 }\n",
        "graph TD\nA@{ w: NaN, h: 99999999999999999999999999999999 }\n",
        "graph TD\nA ---------------------------------------------------> B\n",
        "graph TD\nA ==================================================> B\n",
        "graph TD\nA -.................................................-> B\n",
    ] {
        let _ = check(src);
    }
}

#[test]
fn odd_unicode() {
    for src in [
        "graph TD\n用户 --> Größe\n",
        "graph TD\n🚀 --> B\n",
        "graph TD\nA[🚀] -->|é| B((\u{10ffff}))\n",
        "graph TD\nA\u{200b}B --> C\n",
        "graph TD\nA[\u{301}] --> B\n",
        "graph TD\né",
        "é",
        "graph TD\nA -->|\u{fffd}",
        "graph \u{2028}TD\nA",
    ] {
        let _ = check(src);
    }
}

// ---------------------------------------------------------------------------
// Bugs the fuzzers found, one test each, named after what broke. Ignored
// until fixed: `cargo test --test robustness -- --ignored` lists them; drop
// the `ignore` when one passes.

fn check_all(cases: &[&str]) {
    for src in cases {
        let _ = check(src);
    }
}

#[test]
fn node_named_click_survives_printing() {
    check_all(&["graph TD\nclick;", "graph TD\nclick-->,"]);
}

#[test]
fn names_ending_in_a_blank_taking_keyword_survive_printing() {
    // `click`, `call` and `href` + a blank are keywords wherever a token
    // starts: as node ids, class names, callback or curve names.
    check_all(&[
        "graph TD\ncall;A-->call-->B",
        "graph TD\nhref;A-->href-->B",
        "graph TD\nA-->1click;",
        "graph TD\nA:::click;",
        "graph TD\nA:::href-->B",
        "graph TD\nclass A click;",
        "graph TD\nA-->B;linkStyle 0 interpolate call;",
        "graph TD\nA-->B;click A call;",
        // A glued `o`/`x` start marker would join the id: the closing
        // token carries it (fuzz seed 30).
        "graph TD\nclick--[/o--oshape:",
        "graph TD\ncall-. x x.-x B",
        "graph TD\nhref== y o==o B",
        // A subgraph id ending in one keeps its title bracket glued (seed 288).
        "flowchart TB\n    subgraph ide1 click[one]\n    a1-->a2\n    end\n",
    ]);
}

#[test]
fn link_on_a_line_holding_direction_survives_printing() {
    // `.*direction\s+LR` is a `direction` token wherever a token starts.
    check_all(&[
        "flowchart LR\nc(\"`a\nb`\")\n -- \"direction LR`x`\" --> d(\"y\")\n",
        "flowchart LR\nc\n -- direction LR --> d\n-->e",
    ]);
}

#[test]
fn style_like_line_in_an_acc_descr_block_survives_printing() {
    check_all(&["graph TD\naccDescr {\nstyle x:#a b;c;\n}"]);
}

#[test]
fn semicolon_the_style_pre_pass_dropped_elsewhere_survives_printing() {
    // The source line's last `;` (dropped by mermaid's `classDef…:#…;`
    // pre-pass) is a separator; once split, the label's `;` would be last.
    // (`check` would stop at a parser span bug on this input first, so the
    // printer is checked directly.)
    let src = "graph TD\nC[;classDef red fill:#f00;A>Odd];A;A";
    check_printer(src, parse_flowchart(src).ok().as_ref(), true);
    check_all(&[
        "graph TD\nA[\"style x:#a;\"]",
        "graph TD\naccDescr {style A fill:#fff@{ shape: rect }accTitle: tA%%A#quot;AAAA",
    ]);
}

#[test]
fn style_value_ending_in_direction_survives_printing() {
    // A `;` after `#fffdirection` would make it an entity.
    check_all(&["graph TD\nA\nstyle A fill:#fffdirection"]);
}

#[test]
fn comment_of_blanks_only_survives_printing() {
    // `%% ` less its trailing blank is `%%`: a node, not a comment.
    check_all(&["graph TD\nA\n%% \nB\n", "%% \ngraph TD\nA\n"]);
}

#[test]
fn edge_id_after_a_label_holding_direction_survives_printing() {
    // An edge id cannot start a line, and `direction LR` on an earlier line
    // of a label does not make the link's own line risky.
    check_all(&[
        "graph TD\nA --> A[\r\ndirection LR\r\nA>Odd] e1@--> A",
        "graph TD\nA e1@--> A --> A[\r\ndirection LR\r\nA>Odd]",
    ]);
}

#[test]
fn odd_label_with_an_at_sign_survives_printing() {
    // `>` does not stop the edge-id rule: `AS1>for@ …]` starts with an edge id.
    check_all(&["flowchart TD\nAS1>\"\"for@ AS@@]"]);
}

#[test]
fn indented_keyword_line_holding_direction_survives_printing() {
    // At column 0 `accTitle` wins; after indentation `.*direction RL` does.
    check_all(&[
        "flowchart TB\n    subgraph A\n      direction BT\n      a --> b\naccTitle: t      direction RL\n    end\n",
    ]);
}

#[test]
fn percent_brace_at_the_end_of_a_line_survives_printing() {
    // `%%{` + line break + a word is a directive.
    check_all(&[
        "graph TD\naccTitle: t%%{\n->direction LR",
        "graph TD\n%%%%{\n|direction LR",
    ]);
}

#[test]
fn acc_title_around_a_cut_directive_survives_printing() {
    // Cutting `%%{classDef red ` leaves `t%%{fill:#f00`, itself a directive.
    check_all(&["graph TD\naccTitle: t%%{%%{classDef red fill:#f00"]);
}

#[test]
fn frontmatter_with_crlf_prints_idempotently() {
    check_all(&["---\ntitle: Node\r\n\n---\nflowchart LR\n    id\n"]);
}

#[test]
fn edge_id_starting_with_a_link_survives_printing() {
    // The edge id is `-->e1`; after a blank, `-->` would be a link.
    check_all(&["graph TD\nA(-this is an ellipse-)-->e1@-->B\n    two --> c2\n"]);
}

#[test]
fn acc_descr_block_holding_a_comment_survives_printing() {
    // The comment line keeps `%%{` from reading as a directive.
    check_all(&[
        "graph TD\naccDescr {%%{\n%% c\nA",
        "graph TD\naccDescr {%% c\n%%@{ shape: rect }\nA",
        "graph TD\naccDescr {A\n%%A@{ shape: rect }subgraph S[\"T\"]\nA%% c\n",
        // Its last line lost a `;` to the `style …;` pre-pass (fuzz seed 101).
        "graph TD\naccDescr {%% c\nstyle A fill:#fff#quot;AA#quot;",
    ]);
}

#[test]
fn style_semicolon_dropped_before_a_cut_directive_survives_printing() {
    // The directive (to the end of the text) is cut before the `style …;`
    // pre-pass runs, so the `;` it drops is the entity's, not the line's
    // last (fuzz seed 113).
    check_all(&[
        "---\ntitle: t\n---\ngraph TD\naccTitle: tstyle A fill:#fff%%#quot;A%%{A;",
        "graph TD\nA[\"style A fill:#fff #quot;\"]%%{init: x;",
        // A `style` inside a directive is cut before the pre-pass: the line
        // keeps its `;` (fuzz seed 293).
        "---\ntitle: t\n---\ngraph TD\naccTitle: t%%%%{style A fill:#fff;",
    ]);
}

#[test]
fn blanks_after_a_brace_at_the_end_of_the_text_survive_printing() {
    // mermaid's `}\s*\n` fold sees the newline it appends (fuzz seed 17).
    check_all(&["graph TD\naccTitle: t@{ shape: rect }\u{feff}"]);
}

#[test]
fn inline_edge_text_starting_with_a_line_break_prints_once() {
    // The opening `--` takes the line break: printing it would not be
    // idempotent (fuzz seed 217).
    check_all(&[
        "graph TD;A---|\nflowchart LR\n    direction TB\nsecond edge|B;\n",
        "graph TD\nA-- \n%% c\nfoo --- B\n",
    ]);
}

#[test]
fn frontmatter_ending_in_a_blank_line_prints_once() {
    // The closing `---` needs its own line break after the block's (seed 308).
    check_all(&["---\ntitle: Noded---\nflowchart LR\n    i\n\n\n---\nflowchart LR\n    id\n"]);
}

#[test]
fn node_id_starting_with_percent_survives_printing() {
    check_all(&["flowchart TD;%%@{ shape: rect }\n"]);
}

#[test]
fn multi_line_label_keeps_its_first_line_break() {
    check_all(&[
        "graph TD\nA[\n%% comment\nx]\n",
        "graph TD\nA[\ndirection LR\nA>Odd]",
        "flowchart LR\nB[\"`Line1\n%% c\n    Line 2`\"]\nA --> B\n",
    ]);
}

#[test]
fn percent_brace_inside_a_label_prints_once() {
    check_all(&[
        "graph TD\nA(-t%%{his is an ellipse-)-->B\n",
        "flowchart LR\nA---|T%%{his is the text|B\n",
    ]);
}

#[test]
fn acc_descr_block_starting_with_percent_survives_printing() {
    check_all(&["graph TD\naccDescr {%% c\n"]);
}

#[test]
fn click_link_with_an_entity_survives_printing() {
    check_all(&["graph TD\nA-->B\nclick A href \"#35;click.html\"\n"]);
}

#[test]
fn subgraph_title_with_a_trailing_blank_keeps_its_id() {
    check_all(&["flowchart TB\nsubgraph A \na\nend\n"]);
}

#[test]
fn style_like_text_before_a_semicolon_survives_printing() {
    check_all(&["graph TD\naccTitle: tstyle A fill:#fff&amp;#quot;"]);
}

#[test]
fn shape_data_with_a_lone_cr_survives_printing() {
    check_all(&["flowchart TD\nsA@{ a: b, label: \"X\"\r }\n"]);
}

#[test]
#[ignore = "parser: a diagnostic quotes text across a line break, so the rendered caret is not the third line"]
fn diagnostics_quote_at_most_one_line() {
    check_all(&[
        "graph TD\n\"#quot;\nA",
        "graph TD\nA->%%{AA\n}%% c\nAA",
        "flowchart TB\n    c1--\n\u{feff}    subgraph ide1 [one]\n",
    ]);
}

// ---------------------------------------------------------------------------
// Property tests

/// Cases per fuzz test: `PROPTEST_CASES` if set, else `default`.
fn fuzz_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The fuzz seed: `EDA_FUZZ_SEED`; else a fixed one under CI (`CI` set), so
/// that a red CI run is reproducible and not the luck of the draw; else the
/// clock, so that local runs keep exploring.
fn fuzz_seed() -> u64 {
    const CI_SEED: u64 = 20_261_127;
    if let Some(seed) = std::env::var("EDA_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return seed;
    }
    if std::env::var_os("CI").is_some() {
        return CI_SEED;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(CI_SEED, |d| d.as_nanos() as u64)
}

/// Runs a proptest on a watched 2 MiB thread, seeded by [`fuzz_seed`]; a
/// failure reports the seed and the minimal input.
fn fuzz<S>(name: &str, default_cases: u32, strategy: S, test: fn(&S::Value))
where
    S: Strategy + Send + 'static,
    S::Value: std::fmt::Debug,
{
    let seed = fuzz_seed();
    let cases = fuzz_cases(default_cases);
    let label = name.to_string();
    quiet_fuzz_panics();
    let current = Arc::new(Mutex::new(String::new()));
    let noted = Arc::clone(&current);
    let body = move || {
        let config = Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 2048,
            ..Config::default()
        };
        let mut seed_bytes = [0u8; 32];
        seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
        let mut runner = TestRunner::new_with_rng(config, rng);
        let started = Instant::now();
        let outcome = runner.run(&strategy, |value| {
            if let Ok(mut slot) = noted.lock() {
                slot.clear();
                let _ = write!(slot, "{value:?}");
            }
            test(&value);
            Ok(())
        });
        if let Err(err) = outcome {
            panic!("{label}: {err}\nreplay with EDA_FUZZ_SEED={seed}");
        }
        eprintln!(
            "{label}: {cases} cases in {:?} (seed {seed})",
            started.elapsed()
        );
    };
    let thread = format!("{FUZZ_THREAD}{name}");
    within_noting(&thread, HEAVY, body, Some(current));
}

/// Prefix of fuzzing threads' names, whose panics are caught and shrunk.
const FUZZ_THREAD: &str = "fuzzing ";

/// Keeps the panic hook quiet on fuzzing threads: proptest catches each
/// panic while shrinking, and hundreds of backtraces would bury the one
/// report that matters (the minimal input and the seed).
fn quiet_fuzz_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let fuzzing = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with(FUZZ_THREAD));
            if !fuzzing {
                default_hook(info);
            }
        }));
    });
}

const HEADERS: [&str; 10] = [
    "",
    "graph TD\n",
    "flowchart LR\n",
    "graph\n",
    "flowchart-elk TB;",
    "graph >;",
    "---\ntitle: t\n---\ngraph TD\n",
    "%%{init: {\"flowchart\": {\"curve\": \"basis\"}}}%%\ngraph TD\n",
    "\u{feff}graph TD\n",
    "sequenceDiagram\n",
];

#[rustfmt::skip]
const TOKENS: &[&str] = &[
    // ids
    "A", "B", "c1", "end", "End", "default", "o", "x", "svc.orders", "v2/api", "用户", "__proto__",
    "1", "click", "style", "class", "graph", "direction", "subgraphs", "endpoint",
    // links
    "-->", "---", "-.->", "-.-", "==>", "===", "~~~", "--o", "--x", "<-->", "o--o", "x--x",
    "--->", "----->", "-- text -->", "-. text .->", "== text ==>", "--", "==", "-.", "->", "<--",
    "e1@-->", "|", "|label|",
    // shapes
    "[", "]", "(", ")", "{", "}", "[(", ")]", "([", "])", "[[", "]]", "((", "))", "(((", ")))",
    ">", "[/", "/]", "[\\", "\\]", "{{", "}}", "(-", "-)", "[|", "@{", "@{ shape: rect }",
    "@{ shape: cyl, label: \"L\" }", "@{ shape: nope }", "shape:", "label:", "animate: true",
    // strings and entities
    "\"", "\"quoted\"", "\"`md **b**`\"", "`", "<br>", "#quot;", "#35;", "&amp;", "&",
    // statements
    "subgraph ", "subgraph S[\"T\"]\n", "end\n", "direction LR", "classDef red fill:#f00",
    "class A red", ":::", ":::red", "style A fill:#fff", "linkStyle 0 stroke:red",
    "linkStyle default interpolate basis", "click A \"http://x\" _blank",
    "click A callback \"tip\"", "accTitle: t", "accDescr: d", "accDescr {", ",", ":", ";",
    // whitespace, comments, control
    " ", "  ", "\t", "\n", "\n", "\n", "\r\n", "\r", "\0", "%% c\n", "%%", "%%{",
    // unicode and numbers
    "é", "\u{feff}", "\u{200b}", "🚀", "\u{fffd}", "0", "99999999999999999999999", "-1", "1e999",
];

fn check_any(src: &str) {
    let _ = check(src);
}

#[test]
fn fuzz_token_soup() {
    let strategy = (
        prop::sample::select(&HEADERS[..]),
        prop::collection::vec(prop::sample::select(TOKENS), 0..96),
    )
        .prop_map(|(header, tokens)| format!("{header}{}", tokens.concat()));
    fuzz("fuzz_token_soup", 3000, strategy, |src: &String| {
        check_any(src)
    });
}

#[rustfmt::skip]
const STMT_IDS: &[&str] = &["A", "B", "C", "svc1", "Bus", "end", "S", "x1", "o"];
#[rustfmt::skip]
const STMT_SHAPES: &[&str] = &[
    "", "", "[Label]", "(Round)", "[(DB)]", "{Choice}", "([Stadium])", "((Circle))",
    "[\"quoted\"]", "[\"`md`\"]", ">Odd]", "[/lean/]", "@{ shape: hex }",
    "@{ shape: rect, label: \"x\" }", ":::red", "[",
];
#[rustfmt::skip]
const STMT_LINKS: &[&str] = &[
    "-->", "---", "-.->", "==>", "~~~", "--o", "--x", "<-->", "-->|Evt|", "-- Evt -->",
    "--->", "e1@-->", "&", "->",
];
#[rustfmt::skip]
const STMT_OTHER: &[&str] = &[
    "subgraph S1[Group]", "subgraph S2", "end", "direction LR", "classDef red fill:#f00",
    "class A,B red", "style A fill:#fff", "linkStyle 0 stroke:red", "linkStyle 9 stroke:red",
    "linkStyle default interpolate basis", "click A \"http://x\" _blank", "accTitle: T",
    "accDescr: D", "%% comment", "",
];

/// A statement that is usually valid, so that accepted charts (and
/// `to_corpus_json`) get exercised too, with an occasional wrong token.
fn statement() -> impl Strategy<Value = String> {
    let id = prop::sample::select(STMT_IDS);
    let shape = prop::sample::select(STMT_SHAPES);
    let link = prop::sample::select(STMT_LINKS);
    let edge = (
        id.clone(),
        shape.clone(),
        prop::collection::vec((link, id.clone(), shape.clone()), 0..4),
    )
        .prop_map(|(a, sa, rest)| {
            let mut s = format!("{a}{sa}");
            for (l, b, sb) in rest {
                s.push_str(&format!(" {l} {b}{sb}"));
            }
            s
        });
    let other = prop::sample::select(STMT_OTHER).prop_map(str::to_string);
    prop_oneof![3 => edge, 1 => other]
}

#[test]
fn fuzz_statements() {
    let strategy = (
        prop::sample::select(&HEADERS[..9]),
        prop::collection::vec(statement(), 0..24),
        prop::sample::select(&["\n", ";", "\r\n", "\n  "][..]),
    )
        .prop_map(|(header, statements, sep)| format!("{header}{}", statements.join(sep)));
    fuzz("fuzz_statements", 2000, strategy, |src: &String| {
        check_any(src)
    });
}

#[test]
fn fuzz_random_bytes() {
    let strategy = (
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..512),
        any::<String>(),
    );
    fuzz(
        "fuzz_random_bytes",
        1500,
        strategy,
        |(with_header, bytes, text): &(bool, Vec<u8>, String)| {
            let header = if *with_header { "graph TD\n" } else { "" };
            check_any(&format!("{header}{}", String::from_utf8_lossy(bytes)));
            check_any(&format!("{header}{text}"));
        },
    );
}

/// The corpus directory: `EDA_CORPUS_DIR`, else `../shared/mermaid-corpus`.
fn corpus_dir() -> PathBuf {
    std::env::var_os("EDA_CORPUS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/mermaid-corpus"),
        PathBuf::from,
    )
}

/// Every `.mmd` in the corpus, sorted by name. Outside CI a missing corpus
/// falls back to the seed diagram with a warning; in CI it is an error.
fn corpus() -> Vec<String> {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "mmd"))
            .collect(),
        Err(err) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "corpus not found at {} ({err}); set EDA_CORPUS_DIR",
                dir.display()
            );
            eprintln!(
                "warning: corpus not found at {} ({err}); fuzzing the seed only",
                dir.display()
            );
            Vec::new()
        }
    };
    files.sort();
    let mut texts: Vec<String> = files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display())))
        .collect();
    if texts.is_empty() {
        texts.push(eda_studio::SEED_DIAGRAM.to_string());
    }
    texts
}

#[test]
fn corpus_files_parse_without_panicking() {
    let files = corpus();
    within("corpus", HEAVY, move || {
        for text in &files {
            let _ = check(text);
        }
    });
}

/// One edit to a file, positions taken modulo its length.
#[derive(Debug, Clone)]
enum Mutation {
    Delete {
        at: usize,
        len: usize,
    },
    Insert {
        at: usize,
        text: &'static str,
    },
    InsertChar {
        at: usize,
        c: char,
    },
    Duplicate {
        at: usize,
        len: usize,
    },
    Swap {
        a: usize,
        b: usize,
    },
    /// Lines `from..from + n` of corpus file `file` inserted before line `at`.
    Splice {
        file: usize,
        from: usize,
        n: usize,
        at: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    prop_oneof![
        (pos, 1..8usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (pos, prop::sample::select(TOKENS)).prop_map(|(at, text)| Mutation::Insert { at, text }),
        (pos, any::<char>()).prop_map(|(at, c)| Mutation::InsertChar { at, c }),
        (pos, 1..40usize).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        (pos, pos).prop_map(|(a, b)| Mutation::Swap { a, b }),
        (any::<usize>(), pos, 1..6usize, pos).prop_map(|(file, from, n, at)| Mutation::Splice {
            file,
            from,
            n,
            at
        }),
    ]
}

fn apply(files: &[String], base: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for m in mutations {
        let len = chars.len();
        let at = |p: usize| if len == 0 { 0 } else { p % (len + 1) };
        match *m {
            Mutation::Delete { at: p, len: n } => {
                let start = at(p);
                let end = (start + n).min(len);
                chars.drain(start..end);
            }
            Mutation::Insert { at: p, text } => {
                let start = at(p);
                chars.splice(start..start, text.chars());
            }
            Mutation::InsertChar { at: p, c } => chars.insert(at(p), c),
            Mutation::Duplicate { at: p, len: n } => {
                let start = at(p);
                let end = (start + n).min(len);
                let copy: Vec<char> = chars[start..end].to_vec();
                chars.splice(end..end, copy);
            }
            Mutation::Swap { a, b } if len > 0 => chars.swap(a % len, b % len),
            Mutation::Swap { .. } => {}
            Mutation::Splice {
                file,
                from,
                n,
                at: p,
            } => {
                let other: Vec<&str> = files[file % files.len()].split_inclusive('\n').collect();
                let this: String = chars.iter().collect();
                let mut lines: Vec<&str> = this.split_inclusive('\n').collect();
                let from = if other.is_empty() {
                    0
                } else {
                    from % other.len()
                };
                let taken = &other[from..(from + n).min(other.len())];
                let at = p % (lines.len() + 1);
                lines.splice(at..at, taken.iter().copied());
                chars = lines.concat().chars().collect();
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn fuzz_mutated_corpus() {
    let files = Arc::new(corpus());
    let n = files.len();
    let strategy = (0..n, prop::collection::vec(mutation(), 1..6))
        .prop_map(move |(i, ms)| apply(&files, &files[i], &ms));
    fuzz("fuzz_mutated_corpus", 3000, strategy, |src: &String| {
        check_any(src)
    });
}
