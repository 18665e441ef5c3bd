//! `eda-studio fmt`: print a diagram as canonical Mermaid, check that a file
//! already is canonical (for CI), or rewrite it in place.
//!
//! In-place writes go to a temporary file in the same directory that is then
//! renamed over the original, so a crash or a full disk never leaves the
//! user's diagram truncated; an already canonical file is not touched at all.

use super::Source;
use anyhow::{Context, Result, bail};
use eda_studio::mermaid::{Flowchart, parse_document, print_document_with_source};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Lines of context around a change in the `--check` diff.
const DIFF_CONTEXT: usize = 2;
/// Changed (`-` and `+`) lines the `--check` diff shows before it is cut.
const DIFF_MAX_LINES: usize = 12;

/// Runs the subcommand: prints canonical text, or checks (`check`), or
/// rewrites in place (`write`). Exit 0 on success, 1 when the file has errors
/// or (with `check`) is not canonical; I/O failures are returned as errors.
pub fn run(file: &Path, check: bool, write: bool) -> Result<ExitCode> {
    let stdin = file.as_os_str() == "-";
    if write && stdin {
        bail!("cannot rewrite standard input in place; drop -w to print to standard output");
    }
    let src = Source::read(file)?;
    // Semantic errors (unknown `@{shape}`, bad `linkStyle` index, …) count
    // too: formatting a diagram mermaid would reject hides the problem.
    let doc = match parse_document(&src.text)
        .and_then(|doc| Flowchart::from_document(&doc).map(|_| doc))
    {
        Ok(doc) => doc,
        Err(diag) => {
            eprint!("{}", diag.render(&src.name, &src.text));
            return Ok(ExitCode::from(1));
        }
    };
    let canonical = print_document_with_source(&doc, &src.text);
    if check {
        if canonical == src.text {
            return Ok(ExitCode::SUCCESS);
        }
        let mut msg = format!("{}: not canonical\n", src.name);
        msg.push_str(&short_diff(&src.text, &canonical, &src.name));
        eprint!("{msg}");
        return Ok(ExitCode::from(1));
    }
    if write {
        if canonical != src.text {
            write_atomically(file, &canonical)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    match out
        .write_all(canonical.as_bytes())
        .and_then(|()| out.flush())
    {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // `eda-studio fmt x.mmd | head` closes the pipe early: not an error.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(err) => Err(err).context("cannot write to standard output"),
    }
}

/// Replaces `path`'s contents with `text` through a temporary file in the
/// same directory and a rename, keeping the original's permissions. A
/// symlink is followed, so the link stays a link and its target is rewritten.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let resolved =
        fs::canonicalize(path).with_context(|| format!("cannot resolve {}", path.display()))?;
    let path = resolved.as_path();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".eda-fmt-{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| -> Result<()> {
        // A leftover from a crashed run is ours to replace; `create_new`
        // then refuses to follow anything planted at that name meanwhile.
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        if let Ok(meta) = fs::metadata(path) {
            // Best effort: a file we could read but not chmod still gets written.
            let _ = fs::set_permissions(&tmp, meta.permissions());
        }
        fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A short unified diff of the first changes between `old` and `new`: one
/// hunk with [`DIFF_CONTEXT`] lines of context, cut after [`DIFF_MAX_LINES`]
/// changed lines. Lines are matched with a longest-common-subsequence over a
/// window of [`DIFF_WINDOW`] lines from the first difference, so the cost
/// stays bounded on huge files.
fn short_diff(old: &str, new: &str, name: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_end, b_end) = (a.len() - suffix, b.len() - suffix);
    // The window takes a little of the common tail as trailing context.
    let tail = suffix.min(DIFF_CONTEXT);
    let a_win = &a[prefix..(a_end + tail).min(prefix + DIFF_WINDOW)];
    let b_win = &b[prefix..(b_end + tail).min(prefix + DIFF_WINDOW)];
    let ops = lcs_ops(a_win, b_win);

    // Keep the ops up to the end of the first hunk: stop at a run of equal
    // lines long enough to separate hunks, or when enough lines changed.
    let mut shown = Vec::new();
    let mut changed = 0;
    let mut equal_run = 0;
    let mut rest = ops.iter().copied();
    for op in rest.by_ref() {
        if matches!(op, Op::Equal(_)) {
            equal_run += 1;
        } else {
            equal_run = 0;
            changed += 1;
        }
        if equal_run > DIFF_CONTEXT || changed > DIFF_MAX_LINES {
            break;
        }
        shown.push(op);
    }
    // Differences past the hunk, or past the window we diffed.
    let truncated = rest.any(|op| !matches!(op, Op::Equal(_)))
        || changed > DIFF_MAX_LINES
        || prefix + a_win.len() < a_end
        || prefix + b_win.len() < b_end;
    let before = prefix.min(DIFF_CONTEXT);
    let old_len = before + shown.iter().filter(|o| !matches!(o, Op::Insert(_))).count();
    let new_len = before + shown.iter().filter(|o| !matches!(o, Op::Delete(_))).count();
    let start = prefix - before;
    let mut out = format!("--- {name}\n+++ {name} (canonical)\n");
    out.push_str(&format!(
        "@@ -{} +{} @@\n",
        hunk_range(start, old_len),
        hunk_range(start, new_len)
    ));
    for line in &a[start..prefix] {
        push_diff_line(&mut out, ' ', line);
    }
    for op in shown {
        match op {
            Op::Equal(i) => push_diff_line(&mut out, ' ', a_win[i]),
            Op::Delete(i) => push_diff_line(&mut out, '-', a_win[i]),
            Op::Insert(j) => push_diff_line(&mut out, '+', b_win[j]),
        }
    }
    if truncated {
        out.push_str("… (more differences follow)\n");
    }
    out
}

/// Lines from the first difference that the `--check` diff looks at.
const DIFF_WINDOW: usize = 300;

/// One step of a line diff; indices into the old or new window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal(usize),
    Delete(usize),
    Insert(usize),
}

/// The edit script of a longest common subsequence of `a` and `b`
/// (quadratic, so only call it on bounded windows).
fn lcs_ops(a: &[&str], b: &[&str]) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    // table[i][j]: LCS length of a[i..] and b[j..].
    let mut table = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[at(i, j)] = if a[i] == b[j] {
                table[at(i + 1, j + 1)] + 1
            } else {
                table[at(i + 1, j)].max(table[at(i, j + 1)])
            };
        }
    }
    let mut ops = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push(Op::Equal(i));
            i += 1;
            j += 1;
        } else if j < m && (i == n || table[at(i, j + 1)] >= table[at(i + 1, j)]) {
            ops.push(Op::Insert(j));
            j += 1;
        } else {
            ops.push(Op::Delete(i));
            i += 1;
        }
    }
    // Unified diffs list a block's deletions before its insertions.
    let mut k = 0;
    while k < ops.len() {
        let end = ops[k..]
            .iter()
            .position(|o| matches!(o, Op::Equal(_)))
            .map_or(ops.len(), |p| k + p);
        ops[k..end].sort_by_key(|o| matches!(o, Op::Insert(_)));
        k = end + 1;
    }
    ops
}

/// `start,len` in 1-based unified-diff terms.
fn hunk_range(start: usize, len: usize) -> String {
    if len == 0 {
        format!("{start},0")
    } else {
        format!("{},{len}", start + 1)
    }
}

fn push_diff_line(out: &mut String, sign: char, line: &str) {
    out.push(sign);
    let body = line.strip_suffix('\n').unwrap_or(line);
    // Make invisible differences visible: a CR or trailing blanks.
    let body = body
        .strip_suffix('\r')
        .map_or_else(|| body.to_string(), |b| format!("{b}␍"));
    out.push_str(&body);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_first_hunk_with_context() {
        let old = "a\nb\nc\nd\ne\nf\n";
        let new = "a\nb\nC\nd\ne\nf\n";
        assert_eq!(
            short_diff(old, new, "x.mmd"),
            "--- x.mmd\n+++ x.mmd (canonical)\n@@ -1,5 +1,5 @@\n a\n b\n-c\n+C\n d\n e\n"
        );
    }

    #[test]
    fn diff_of_inserted_and_deleted_lines() {
        assert_eq!(
            short_diff("a\nc\n", "a\nb\nc\n", "f"),
            "--- f\n+++ f (canonical)\n@@ -1,2 +1,3 @@\n a\n+b\n c\n"
        );
        assert_eq!(
            short_diff("a\n\n\nb\n", "a\n\nb\n", "f"),
            "--- f\n+++ f (canonical)\n@@ -1,4 +1,3 @@\n a\n \n-\n b\n"
        );
    }

    #[test]
    fn diff_marks_missing_final_newline_and_carriage_returns() {
        let d = short_diff("A\r\nB", "A\nB\n", "f");
        assert!(d.contains("-A␍\n"), "{d}");
        assert!(d.contains("-B\n\\ No newline at end of file\n"), "{d}");
        assert!(d.contains("+A\n+B\n"), "{d}");
    }

    #[test]
    fn diff_is_cut_after_the_first_changes() {
        let old: String = (0..1000).map(|i| format!("l{i}\n")).collect();
        let new: String = (0..1000).map(|i| format!("L{i}\n")).collect();
        let d = short_diff(&old, &new, "f");
        assert!(d.lines().count() <= DIFF_MAX_LINES + 5, "{d}");
        assert!(d.ends_with("… (more differences follow)\n"), "{d}");
    }
}
